<?php
// SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
/* Stack.php - test helpers: start gearmand, the gateway and PHP workers on
 * free 127.0.0.1 ports in a temporary directory, talk HTTP to the gateway
 * (keep-alive), stop exactly the processes started here, by pid. */

require_once __DIR__ . '/../Gearbox.php';

final class Stack
{
    public string $dir;
    public int $gearman_port;
    public int $http_port;
    private array $procs = [];   // name => proc resource
    private $sock = null;

    public static function build_dir(): string
    {
        $b = getenv('GEARBOX_BUILD_DIR');
        if (!$b) {
            throw new RuntimeException('GEARBOX_BUILD_DIR is not set');
        }
        return $b;
    }

    public static function free_port(): int
    {
        $s = stream_socket_server('tcp://127.0.0.1:0');
        $name = stream_socket_get_name($s, false);
        fclose($s);
        return (int)substr($name, strrpos($name, ':') + 1);
    }

    /** $locations: [prefix => component config path]. */
    public function __construct(array $locations)
    {
        $this->dir = sys_get_temp_dir() . '/gbx-php-' . getmypid() . '-' . bin2hex(random_bytes(3));
        mkdir($this->dir . '/state', 0755, true);
        $this->gearman_port = self::free_port();
        $this->http_port = self::free_port();
        putenv("GEARMAN_PORT={$this->gearman_port}");
        putenv("GEARBOX_PORT={$this->http_port}");
        putenv("GEARBOX_STATE_DIR={$this->dir}/state");
        $locs = [];
        foreach ($locations as $prefix => $conf) {
            $locs[] = ['prefix' => $prefix, 'auth' => 'none', 'config' => $conf, 'timeout' => 30];
        }
        file_put_contents("{$this->dir}/gateway.conf", json_encode([
            'listen' => ['address' => '127.0.0.1', 'port' => $this->http_port],
            'gearman' => ['servers' => ["127.0.0.1:{$this->gearman_port}"]],
            'status' => ['type' => 'sqlite', 'path' => "{$this->dir}/state/status.db"],
            'threads' => 2,
            'log' => ['level' => 'info'],
            'locations' => $locs,
        ], JSON_UNESCAPED_SLASHES));
        $this->start('gearmand', ['gearmand', '--listen=127.0.0.1', "--port={$this->gearman_port}",
            '--log-file=stderr', '--verbose=WARNING', "--pid-file={$this->dir}/gearmand.pid"]);
        $this->wait_port($this->gearman_port, 'gearmand');
        $this->start('gateway', [self::build_dir() . '/gateway/gearbox-gateway', '--config', "{$this->dir}/gateway.conf"]);
        $this->wait_port($this->http_port, 'gateway');
    }

    /** Starts a PHP script with the build-tree extension. */
    public function start_php(string $name, array $args): int
    {
        $ext = getenv('GBX_PHP_EXTENSION') ?: self::build_dir() . '/bindings/php/gearbox.so';
        return $this->start($name, array_merge([PHP_BINARY, '-d', "extension=$ext"], $args));
    }

    public function start(string $name, array $cmd): int
    {
        $log = "{$this->dir}/$name.log";
        $p = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['file', $log, 'a'], 2 => ['file', $log, 'a']], $pipes);
        if (!$p) {
            throw new RuntimeException("cannot start $name");
        }
        $this->procs[$name] = $p;
        return proc_get_status($p)['pid'];
    }

    public function pid(string $name): int { return proc_get_status($this->procs[$name])['pid']; }
    public function running(string $name): bool { return proc_get_status($this->procs[$name])['running']; }
    public function log(string $name): string { return (string)@file_get_contents("{$this->dir}/$name.log"); }

    /** Polls $cond up to $seconds (generous), true once it holds. */
    public static function wait_for(callable $cond, float $seconds = 30): bool
    {
        $end = microtime(true) + $seconds;
        do {
            if ($cond()) {
                return true;
            }
            usleep(20000);
        } while (microtime(true) < $end);
        return (bool)$cond();
    }

    private function wait_port(int $port, string $name): void
    {
        $ok = self::wait_for(function () use ($port, $name) {
            if (!$this->running($name)) {
                throw new RuntimeException("$name exited early:\n" . $this->log($name));
            }
            $s = @stream_socket_client("tcp://127.0.0.1:$port", $errno, $err, 1);
            if ($s) {
                fclose($s);
                return true;
            }
            return false;
        });
        if (!$ok) {
            throw new RuntimeException("$name did not listen on $port");
        }
    }

    /** Stops one process (SIGTERM, then SIGKILL after 30 s). */
    public function stop(string $name): int
    {
        $p = $this->procs[$name] ?? null;
        if (!$p) {
            return -1;
        }
        // proc_get_status gives the exit code only to the first call that
        // sees the process gone: keep that one.
        $st = proc_get_status($p);
        if ($st['running']) {
            posix_kill($st['pid'], SIGTERM);
            $ended = function () use ($p, &$st) {
                $st = proc_get_status($p);
                return !$st['running'];
            };
            if (!self::wait_for($ended, 30)) {
                posix_kill($st['pid'], SIGKILL);
                self::wait_for($ended, 30);
            }
        }
        unset($this->procs[$name]);
        proc_close($p);
        return $st['exitcode'];
    }

    public function close(): void
    {
        if ($this->sock) {
            fclose($this->sock);
            $this->sock = null;
        }
        foreach (array_reverse(array_keys($this->procs)) as $name) {
            $this->stop($name);
        }
    }

    /** One HTTP request over a kept-alive connection: [code, headers, body]. */
    public function http(string $method, string $path, ?string $body = null, array $headers = []): array
    {
        for ($attempt = 0; $attempt < 2; $attempt++) {
            if (!$this->sock) {
                $this->sock = stream_socket_client("tcp://127.0.0.1:{$this->http_port}", $errno, $err, 10);
                stream_set_timeout($this->sock, 60);
            }
            $req = "$method $path HTTP/1.1\r\nHost: 127.0.0.1:{$this->http_port}\r\n";
            foreach ($headers as $k => $v) {
                $req .= "$k: $v\r\n";
            }
            if ($body !== null) {
                $req .= "Content-Type: application/json\r\nContent-Length: " . strlen($body) . "\r\n";
            }
            $req .= "\r\n" . ($body ?? '');
            if (@fwrite($this->sock, $req) === false || ($line = fgets($this->sock)) === false) {
                fclose($this->sock);
                $this->sock = null;
                continue;
            }
            $code = (int)explode(' ', $line)[1];
            $h = [];
            while (($l = fgets($this->sock)) !== false && rtrim($l) !== '') {
                [$k, $v] = explode(':', $l, 2);
                $h[strtolower($k)] = trim($v);
            }
            // A 304 or 204 (or an answer to HEAD) has no body, whatever its Content-Length says.
            $len = in_array($code, [204, 304]) || $method === 'HEAD' ? 0 : (int)($h['content-length'] ?? 0);
            $data = '';
            while (strlen($data) < $len && !feof($this->sock)) {
                $data .= fread($this->sock, $len - strlen($data));
            }
            if (strtolower($h['connection'] ?? '') === 'close') {
                fclose($this->sock);
                $this->sock = null;
            }
            return [$code, $h, $data];
        }
        throw new RuntimeException("HTTP $method $path failed");
    }

    /** Waits for an async status to complete; returns it decoded. */
    public function wait_status(string $status_uri): array
    {
        $path = parse_url($status_uri, PHP_URL_PATH);
        $st = null;
        self::wait_for(function () use ($path, &$st) {
            [$c, , $b] = $this->http('GET', $path);
            $st = json_decode($b, true);
            return $c == 200 && ($st['state'] ?? '') === 'COMPLETED';
        });
        return $st;
    }
}
