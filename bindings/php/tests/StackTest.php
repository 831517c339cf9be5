<?php
// SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
/* Handlers through a REAL gearmand and gateway with a real store: accessors,
 * results, errors both ways, non-Gearbox exceptions -> 500, borrowed objects
 * after the call, hooks, async statuses, job queues changed the Gearbox way
 * (array_push onto a level) and run; the PHP barn; RSS over 10,000 jobs. */
use PHPUnit\Framework\TestCase;

require_once __DIR__ . '/Stack.php';

final class StackTest extends TestCase
{
    private static ?Stack $stack = null;

    public static function setUpBeforeClass(): void
    {
        $src = dirname(__DIR__, 3);
        self::$stack = new Stack(['/t' => __DIR__ . '/phptest.conf',
                                  '/php/barn' => "$src/examples/barn/conf/barnphp.conf"]);
        self::$stack->start_php('worker', [__DIR__ . '/fixture_worker.php', __DIR__ . '/phptest.conf']);
        self::$stack->start_php('barn', ["$src/examples/barn/php/barn_worker.php", '--config',
                                         "$src/examples/barn/conf/barnphp.conf"]);
        // Ready once a handler answers.
        Stack::wait_for(fn() => self::$stack->http('GET', '/t/v1/trivial')[0] == 200);
    }

    public static function tearDownAfterClass(): void
    {
        if (self::$stack) {
            self::$stack->close();
        }
    }

    private function http(...$a) { return self::$stack->http(...$a); }

    public function testAccessorsThroughGearman(): void
    {
        [$code, $h, $body] = $this->http('GET', '/t/v1/echo/one/two;m=a/b?q=1&flag', null, ['X-Test' => 'yes']);
        $this->assertSame(203, $code, $body);
        $this->assertSame('v1', $h['x-api']);
        $d = json_decode($body, true);
        $this->assertSame(['one', 'two'], $d['arguments']);
        $this->assertSame(['m' => 'a/b'], $d['matrix']);
        $this->assertSame(['q' => '1', 'flag' => '1'], $d['query']);
        $this->assertSame('yes', $d['header']);
        $this->assertSame('get', $d['operation']);
        $this->assertSame('phptest', $d['component']);
        $this->assertSame('echo', $d['resource_type']);
        $this->assertSame('do_get_phptest_echo_v1', $d['name']);
        $this->assertTrue($d['sync']);
        $this->assertNull($d['status']);
        $this->assertSame('127.0.0.1', $d['remote_ip']);
        $this->assertSame(0, $d['code_before']);
        $this->assertStringEndsWith('/t/v1', $d['base_uri']);
    }

    public function testErrorsMapToTheirCodes(): void
    {
        foreach ([404, 409, 418, 451, 503] as $c) {
            [$code, , $body] = $this->http('GET', "/t/v1/fail/$c");
            $expected = class_exists("ERR_CODE_$c") ? $c : null;
            if ($expected === null) {
                continue;
            }
            $this->assertSame($c, $code, $body);
            $d = json_decode($body, true);
            $this->assertSame($c, $d['code']);
            $this->assertStringContainsString("failing with $c", $d['messages'][0]);
            $this->assertStringStartsWith(gbx_err_name($c) . " [$c]", $d['messages'][0]);
        }
        [$code, , $body] = $this->http('GET', '/t/v1/boom');
        $this->assertSame(500, $code);
        $this->assertStringContainsString('kaboom', $body);
        [$code, , $body] = $this->http('GET', '/t/v1/bad');
        $this->assertSame(500, $code);
        $this->assertStringContainsString('not a Worker::WORKER_* value', $body);
        // The worker survived all of it.
        $this->assertSame(200, $this->http('GET', '/t/v1/trivial')[0]);
        $this->assertTrue(self::$stack->running('worker'));
    }

    public function testBorrowedObjectsFailCleanlyAfterTheCall(): void
    {
        $this->assertSame(200, $this->http('GET', '/t/v1/keep')[0]);
        [$code, , $body] = $this->http('GET', '/t/v1/stale');
        $this->assertSame(200, $code, $body);
        $this->assertSame(['job' => ['Gearbox\ERR_INTERNAL_SERVER_ERROR', 500],
                           'resp' => ['Gearbox\ERR_INTERNAL_SERVER_ERROR', 500]], json_decode($body, true));
    }

    public function testSyncHandlerStatusIsAThrowAwayStatus(): void
    {
        [$code, , $body] = $this->http('GET', '/t/v1/syncstatus/s1');
        $this->assertSame(200, $code, $body);
        $d = json_decode($body, true);
        $this->assertStringStartsWith('st-', $d['name']);
        $this->assertSame(['halfway'], $d['messages']);
        $this->assertSame(50, $d['progress']);
        $this->assertSame(['sheep' => 3], $d['meta']);
        $this->assertNull($d['job_status']);
        // Nothing reached the store.
        $this->assertSame(404, $this->http('GET', '/t/v1/status/' . $d['name'])[0]);
        [$code, , $body] = $this->http('GET', '/t/v1/status;uri=syncstatus');
        $this->assertSame(200, $code, $body);
        $this->assertSame([], json_decode($body, true)['statuses']);
    }

    public function testHooksRunAroundEveryHandler(): void
    {
        [, , $b1] = $this->http('GET', '/t/v1/hooks');
        [, , $b2] = $this->http('GET', '/t/v1/hooks');
        $d1 = json_decode($b1, true);
        $d2 = json_decode($b2, true);
        $this->assertSame($d1['pre'] + 1, $d2['pre']);
        $this->assertSame($d1['post'] + 1, $d2['post']);
        $this->assertSame($d2['pre'] - 1, $d2['post'], 'post runs after the handler');
        $this->assertGreaterThanOrEqual($d2['pre'], $d2['count']);
    }

    public function testAsyncStatuses(): void
    {
        [$code, $h, $body] = $this->http('PUT', '/t/v1/thing/a1', '{"x": 1}');
        $this->assertSame(202, $code, $body);
        $st = self::$stack->wait_status($h['location']);
        $this->assertSame(0, $st['code']);
        $this->assertSame(100, $st['progress']);
        $this->assertSame(['processing a1', 'done'], $st['messages']);
        // Every status keeps the W3C trace id of its request (docs/gateway.md).
        $this->assertMatchesRegularExpression('/^[0-9a-f]{32}$/', $st['meta']['trace_id']);
        unset($st['meta']['trace_id']);
        $this->assertSame(['who' => ['php', 8]], $st['meta']);

        [, $h] = $this->http('PUT', '/t/v1/thing/a2', '{"fail": "conflict"}');
        $st = self::$stack->wait_status($h['location']);
        $this->assertSame(409, $st['code']);
        $this->assertSame('CONFLICT [409]: thing is busy', end($st['messages']));

        [, $h] = $this->http('PUT', '/t/v1/thing/a3', '{"fail": "other"}');
        $st = self::$stack->wait_status($h['location']);
        $this->assertSame(500, $st['code']);
        $this->assertStringContainsString('plain exception', end($st['messages']));

        [, $h] = $this->http('DELETE', '/t/v1/thing/a1');
        $st = self::$stack->wait_status($h['location']);
        $this->assertSame(0, $st['code']);
        $this->assertSame(['delay: 202'], $st['messages']);

        [, $h] = $this->http('POST', '/t/v1/thing/a1', '{}');
        $path = parse_url($h['location'], PHP_URL_PATH);
        $this->assertTrue(Stack::wait_for(function () use ($path) {
            $st = json_decode($this->http('GET', $path)[2], true);
            return ($st['messages'] ?? []) === ['continuing'] && $st['concurrency'] === 0;
        }));
        $st = json_decode($this->http('GET', $path)[2], true);
        $this->assertSame('RUNNING', $st['state'], 'WORKER_CONTINUE leaves the status open');
    }

    public function testOrchestrationThroughTheGateway(): void
    {
        // afterwards() + WORKER_CONTINUE: the continuation completes the status.
        [$code, $h] = $this->http('POST', '/t/v1/thing/a9', '{"then": true}');
        $this->assertSame(202, $code);
        $st = self::$stack->wait_status($h['location']);
        $this->assertSame(0, $st['code']);
        $this->assertSame(['continuing', 'processing a9', 'done'], $st['messages']);

        // A job started in a handler is a child of its status.
        [, $h] = $this->http('POST', '/t/v1/parent/p1', '{}');
        $st = self::$stack->wait_status($h['location']);
        $this->assertSame(0, $st['code']);
        $this->assertCount(1, $st['children']);
        $child = self::$stack->wait_status($st['children'][0]);
        $this->assertSame(['processing kid', 'done'], $child['messages']);
        $this->assertSame($h['location'], $child['parent_uri']);

        // Cancelling itself, the handler stops at the checkpoint: 410.
        [, $h] = $this->http('POST', '/t/v1/stop/s1', '{}');
        $path = parse_url($h['location'], PHP_URL_PATH);
        $st = null;
        $this->assertTrue(Stack::wait_for(function () use ($path, &$st) {
            $st = json_decode($this->http('GET', $path)[2], true);
            return ($st['state'] ?? '') === 'CANCELLED';
        }), json_encode($st));
        $this->assertSame(410, $st['code']);
        $this->assertSame('cancel: update', $st['messages'][0]);
        $this->assertNotContains('not reached', $st['messages']);

        // A REST job from PHP through libcurl.
        // REST jobs go to the job manager's own gateway (or jobs.rest_hosts).
        $jm = new JobManager(__DIR__ . '/phptest.conf');
        $jm->base_uri('http://127.0.0.1:' . self::$stack->http_port . '/t/v1');
        $resp = $jm->job(HttpClient::METHOD_GET, 'http://127.0.0.1:' . self::$stack->http_port . '/t/v1/trivial')->run();
        $this->assertSame(200, $resp->code());
        $this->assertSame('ok', $resp->content());
    }

    public function testJobQueueRunsWhatTheCallerPushed(): void
    {
        $jm = new JobManager(__DIR__ . '/phptest.conf');
        // Jobs get statuses (which job_queue_run waits for) under a base URI.
        $jm->base_uri('http://127.0.0.1:' . self::$stack->http_port . '/t/v1');
        $jobs = $jm->job_queue([['name' => 'do_put_phptest_mark_v1', 'require' => 'do_put_phptest_thing_v1'],
                                ['name' => 'do_put_phptest_thing_v1']]);
        $this->assertSame([['do_put_phptest_thing_v1'], ['do_put_phptest_mark_v1']],
                          array_map(fn($level) => array_map(fn($j) => $j->name(), $level), $jobs));
        $jobs[0][0]->resource_name('first')->content('{}');
        $jobs[1][0]->resource_name('agent')->content('q');
        // As Gearbox's PHP callers do it: push onto a level, add a level.
        array_push($jobs[1], $jm->job('do_put_phptest_mark_v1')->resource_name('pushed')->content('1'));
        $jobs[] = [$jm->job('do_put_phptest_mark_v1')->resource_name('added')->content('2')];
        $marks = getenv('GEARBOX_STATE_DIR') . '/marks.txt';
        @unlink($marks);
        $jm->job_queue_run($jobs, 30);
        $ran = file($marks, FILE_IGNORE_NEW_LINES);
        $level2 = array_slice($ran, 0, 2);
        sort($level2);
        $this->assertSame(['agent q', 'pushed 1'], $level2, 'level 2 ran with the pushed job');
        $this->assertSame(['added 2'], array_slice($ran, 2), 'then the added level');

        // The first failure of what the caller put there is thrown.
        $jobs = $jm->job_queue([['name' => 'do_put_phptest_mark_v1']]);
        array_push($jobs[0], $jm->job('do_put_phptest_thing_v1')->resource_name('busy')->content('{"fail": "conflict"}'));
        try {
            $jm->job_queue_run($jobs, 30);
            $this->fail('the pushed job failing fails the queue');
        } catch (ERR_CONFLICT $e) {
            $this->assertStringContainsString('thing is busy', $e->getMessage());
        }
    }

    public function testPhpBarn(): void
    {
        [$code, , $body] = $this->http('GET', '/php/barn/v1/animal/Wilbur');
        $this->assertSame(404, $code);
        $this->assertSame('NOT_FOUND [404]: animal "Wilbur" not found', json_decode($body, true)['messages'][0]);
        [$code, $h] = $this->http('PUT', '/php/barn/v1/animal/Wilbur', '{"name": "Wilbur", "sound": "oink"}');
        $this->assertSame(202, $code);
        $st = self::$stack->wait_status($h['location']);
        $this->assertSame(0, $st['code']);
        $this->assertSame(['animal "Wilbur" created', 'Wilbur is happily rolling around in the mud!'], $st['messages']);
        [$code, $h, $body] = $this->http('GET', '/php/barn/v1/animal/Wilbur');
        $this->assertSame(200, $code);
        $this->assertSame('application/json', $h['content-type']);
        $this->assertSame('{"name":"Wilbur","sound":"oink"}', $body);
        [, $h] = $this->http('POST', '/php/barn/v1/animal/Wilbur', '{"name": "Babe"}');
        $st = self::$stack->wait_status($h['location']);
        $this->assertSame(400, $st['code']);
        $this->assertSame('BAD_REQUEST [400]: the name of animal "Wilbur" cannot change', end($st['messages']));
        [$code, , $body] = $this->http('PUT', '/php/barn/v1/animal/Wilbur', '{"name": 5}');
        $this->assertSame(400, $code, 'the barn schemas apply to barnphp');
        [, , $body] = $this->http('GET', '/php/barn/v1/animal');
        $this->assertSame('{"animals":["Wilbur"]}', $body);
        [, $h] = $this->http('DELETE', '/php/barn/v1/animal/Wilbur');
        $this->assertSame(0, self::$stack->wait_status($h['location'])['code']);
        [, $h] = $this->http('DELETE', '/php/barn/v1/animal/Wilbur');
        $this->assertSame(404, self::$stack->wait_status($h['location'])['code']);
        [$code, , $body] = $this->http('GET', '/php/barn/v1/animal/.hidden');
        $this->assertSame(400, $code);
        $this->assertStringContainsString('it may not start with a dot', $body);
        // SIGTERM stops run() after the current job and the worker exits 0
        // (PHP's own signal handlers would end the process with 143).
        $this->assertSame(0, self::$stack->stop('barn'), 'SIGTERM stops the PHP barn cleanly');
    }

    private static function rss_kib(int $pid): int
    {
        preg_match('/^VmRSS:\s+(\d+) kB/m', file_get_contents("/proc/$pid/status"), $m);
        return (int)$m[1];
    }

    public function testRssStaysFlatOver10000Jobs(): void
    {
        $s = self::$stack;
        $pid = $s->pid('worker');
        for ($i = 0; $i < 1000; $i++) {
            $this->assertSame(200, $this->http('GET', '/t/v1/trivial')[0]);
        }
        $rss1 = self::rss_kib($pid);
        for ($i = 1000; $i < 10000; $i++) {
            [$code] = $this->http('GET', '/t/v1/trivial');
            if ($code != 200) {
                $this->fail("job $i answered $code");
            }
        }
        $rss10 = self::rss_kib($pid);
        fwrite(STDERR, sprintf("\nPHP worker VmRSS: %d KiB after 1,000 jobs, %d KiB after 10,000 (growth %d KiB)\n",
                               $rss1, $rss10, $rss10 - $rss1));
        file_put_contents(getenv('GEARBOX_BUILD_DIR') . '/bindings/php/rss.txt', "$rss1 $rss10\n");
        $this->assertLessThan(8 * 1024, $rss10 - $rss1);
    }
}
