<?php
// SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
/* Gearbox's names in PHP: every ERR_* class of Gearbox's Errors.h (and
 * today's spellings as the same class), each thrown by a handler behind a
 * REAL gearmand and gateway and answered with its code; StopWatch and
 * Scoreboard (and get_scoreboard()), in-process and inside a handler. */
use PHPUnit\Framework\TestCase;

require_once __DIR__ . '/Stack.php';

final class CompatTest extends TestCase
{
    private static ?Stack $stack = null;

    /** [[NAME, code]] of Gearbox's Errors.h, from tests/data/gearbox-errors.txt. */
    private static function gearbox_errors(): array
    {
        $rows = [];
        foreach (file(dirname(__DIR__, 3) . '/tests/data/gearbox-errors.txt', FILE_IGNORE_NEW_LINES) as $line) {
            if ($line !== '' && $line[0] !== '#') {
                [$name, $code] = preg_split('/\s+/', trim($line));
                $rows[] = [$name, (int)$code];
            }
        }
        return $rows;
    }

    private const OLD_NAMES = ['FOUND' => 'MOVED_TEMPORARILY', 'REQUEST_TIMEOUT' => 'REQUEST_TIME_OUT',
        'REQUEST_URI_TOO_LONG' => 'REQUEST_URI_TOO_LARGE', 'REQUESTED_RANGE_NOT_SATISFIABLE' => 'RANGE_NOT_SATISFIABLE',
        'GATEWAY_TIMEOUT' => 'GATEWAY_TIME_OUT', 'HTTP_VERSION_NOT_SUPPORTED' => 'VERSION_NOT_SUPPORTED'];

    public static function setUpBeforeClass(): void
    {
        self::$stack = new Stack(['/c' => __DIR__ . '/compat.conf']);
        self::$stack->start_php('compat', [__DIR__ . '/compat_worker.php', __DIR__ . '/compat.conf']);
        Stack::wait_for(fn() => self::$stack->http('GET', '/c/v1/metrics')[0] == 200);
    }

    public static function tearDownAfterClass(): void
    {
        if (self::$stack) {
            self::$stack->close();
        }
    }

    public function testEveryGearboxErrorClassExists(): void
    {
        $errors = self::gearbox_errors();
        $this->assertCount(38, $errors);
        foreach ($errors as [$name, $code]) {
            $cls = "ERR_$name";
            $this->assertTrue(class_exists($cls), $cls);
            $e = new $cls('because');
            $this->assertSame($code, $e->getCode(), $cls);
            $this->assertSame("Gearbox\\ERR_$name", get_class($e));
            $this->assertInstanceOf("ERR_CODE_$code", $e);
            $this->assertInstanceOf(Gearbox\Error::class, $e);
            $this->assertSame($name, gbx_err_name($code));
        }
        foreach (self::OLD_NAMES as $old => $name) {
            $this->assertSame("Gearbox\\ERR_$name", get_class(new ("ERR_$old")('x')), $old);
            $this->assertInstanceOf("Gearbox\\ERR_$old", new ("ERR_$name")('y'));
        }
    }

    public function testThrowingOneFailsTheJobWithItsCode(): void
    {
        foreach (array_merge(self::gearbox_errors(), [['GATEWAY_TIMEOUT', 504]]) as [$name, $code]) {
            [$status, , $body] = self::$stack->http('GET', "/c/v1/error/$name");
            $this->assertSame($code, $status, "$name: $body");
            if ($code == 304) {
                $this->assertSame('', $body, 'HTTP allows no body in a 304');
                continue;
            }
            $d = json_decode($body, true);
            $this->assertSame($code, $d['code'], $name);
            $this->assertSame([gbx_err_name($code) . " [$code]: raised $name"], $d['messages']);
        }
    }

    public function testScoreboardAndStopWatchInAHandler(): void
    {
        [$status, , $body] = self::$stack->http('GET', '/c/v1/metrics');
        $this->assertSame(200, $status, $body);
        $board = json_decode($body, true);
        // The readiness probe counted too: at least twice by now.
        $this->assertGreaterThanOrEqual(2, $board['counters']['status']['phpcompat']);
        $d = $board['durations']['status']['phpcompat']['duration_success'];
        $this->assertSame($board['counters']['status']['phpcompat'], $d['count']);
        $this->assertCount(1, $d['hours']);
    }

    public function testStopWatch(): void
    {
        $sw = new StopWatch();
        $this->assertFalse($sw->running());
        $this->assertSame(0.0, $sw->elapsed());
        $sw->start();
        $this->assertTrue($sw->running());
        $stopped = $sw->stop();
        $this->assertFalse($sw->running());
        $this->assertGreaterThanOrEqual(0.0, $stopped);
        $this->assertSame($stopped, $sw->elapsed());
    }

    public function testScoreboardInProcess(): void
    {
        $sb = Scoreboard::initialize('phpinproc');
        $this->assertSame('phpinproc', get_scoreboard()->component());
        $this->assertSame('phpinproc', Gearbox\get_scoreboard()->component());
        $sb->increment_counter('jobs', 'x');
        $this->assertSame(6, $sb->add_counter('jobs', 'x', 5));
        $this->assertSame(6, $sb->counter('jobs', 'x'));
        $sb->update_duration('jobs', 'x', 'run', 1.5);
        $run = Scoreboard::snapshot()['components']['phpinproc']['durations']['jobs']['x']['run'];
        $this->assertSame(1, $run['count']);
        $this->assertSame(1.5, $run['max_seconds']);
        $this->expectException(ERR_BAD_REQUEST::class);
        Scoreboard::initialize('');
    }
}
