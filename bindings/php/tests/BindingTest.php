<?php
// SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
/* The binding surface without gearmand: error classes and codes both ways,
 * JSON <-> PHP, jobs, statuses in a real SQLite store, configs, lifetimes. */
use PHPUnit\Framework\TestCase;

require_once __DIR__ . '/../Gearbox.php';

final class BindingTest extends TestCase
{
    private static string $dir;

    public static function setUpBeforeClass(): void
    {
        self::$dir = sys_get_temp_dir() . '/gbx-php-unit-' . getmypid();
        @mkdir(self::$dir . '/state', 0755, true);
        putenv('GEARBOX_STATE_DIR=' . self::$dir . '/state');
        putenv('GEARMAN_PORT=1');
    }

    private function worker(): Worker
    {
        return new Worker(__DIR__ . '/phptest.conf');
    }

    public function testEveryCodeHasItsClassAndAlias(): void
    {
        $this->assertSame(40, gbx_err_count()); // Gearbox's 38, and 425 and 449
        for ($i = 0; $i < gbx_err_count(); $i++) {
            $code = gbx_err_at($i);
            $name = gbx_err_name($code);
            $cls = "ERR_$name";
            $e = new $cls('m');
            $this->assertSame($code, $e->getCode(), $cls);
            $this->assertSame('m', $e->getMessage());
            $this->assertInstanceOf(Gearbox\Error::class, $e);
            $this->assertInstanceOf(Exception::class, $e);
            $this->assertInstanceOf("ERR_CODE_$code", $e);
            $this->assertInstanceOf("Gearbox\\ERR_$name", $e);
            $alias = "ERR_CODE_$code";
            $this->assertSame($code, (new $alias('x'))->getCode());
        }
        $this->assertSame(404, (new ERR_NOT_FOUND('x'))->getCode());
        $this->assertSame(418, (new ERR_NOT_FOUND('x', 418))->getCode());
        $this->assertSame(Gearbox\Error::class, get_class(new GearboxError('x')));
    }

    public function testCErrorsBecomeTheirClass(): void
    {
        try {
            gbx_config_load(self::$dir . '/missing.conf');
            $this->fail('no exception');
        } catch (ERR_NOT_FOUND $e) {
            $this->assertSame(404, $e->getCode());
            $this->assertStringContainsString('missing.conf', $e->getMessage());
        }
        try {
            gbx_json_parse('{"a":');
            $this->fail('no exception');
        } catch (ERR_CODE_400 $e) {
            $this->assertStringContainsString('malformed JSON', $e->getMessage());
        }
    }

    public function testJsonBothWays(): void
    {
        $v = gbx_json_parse('{"s":"x\u00e9","i":-3,"r":2.5,"t":true,"f":false,"n":null,"a":[1,[2]],"o":{"k":"v"},"e":{}}');
        $this->assertSame(['s' => "x\u{e9}", 'i' => -3, 'r' => 2.5, 't' => true, 'f' => false, 'n' => null,
                           'a' => [1, [2]], 'o' => ['k' => 'v'], 'e' => []], $v);
        $this->assertSame('{"a":[1,2],"o":{"k":1},"e":[],"m":{},"n":null,"b":false,"f":0.5}',
            gbx_json_dump(['a' => [1, 2], 'o' => ['k' => 1], 'e' => [], 'm' => new stdClass(), 'n' => null,
                           'b' => false, 'f' => 0.5]));
        $this->assertSame('{"1":"x","3":"y"}', gbx_json_dump([1 => 'x', 3 => 'y']));
        $this->expectException(ERR_BAD_REQUEST::class);
        gbx_json_dump(["\xff"]);
    }

    public function testRecursiveDataIsRefused(): void
    {
        $a = [1];
        $a[] = &$a;
        $this->expectException(ERR_BAD_REQUEST::class);
        gbx_json_dump($a);
    }

    public function testJobAccessorsAndSetters(): void
    {
        $job = new Job([
            'version' => 1, 'name' => 'do_get_phptest_echo_v1', 'job_type' => 'sync', 'operation' => 'get',
            'component' => 'phptest', 'resource' => ['type' => 'echo', 'name' => 'n1'],
            'base_uri' => 'http://h/p/v1', 'arguments' => ['n1', 'two'], 'matrix_arguments' => ['m' => 'a/b'],
            'query_params' => ['q' => '1'], 'headers' => ['x-h' => 'v'], 'environ' => ['E' => 'e'],
            'remote' => ['ip' => '127.0.0.1', 'user' => 'bob', 'scopes' => 'read'], 'content' => "{\"a\":\x00}",
        ]);
        $this->assertSame(['n1', 'two'], $job->arguments());
        $this->assertSame(['m' => 'a/b'], $job->matrix_arguments());
        $this->assertSame(['q' => '1'], $job->query_params());
        $this->assertSame(['x-h' => 'v'], $job->headers());
        $this->assertSame(['E' => 'e'], $job->environ());
        $this->assertSame("{\"a\":\x00}", $job->content());
        $this->assertSame('get', $job->operation());
        $this->assertSame('phptest', $job->component());
        $this->assertSame('echo', $job->resource_type());
        $this->assertSame('n1', $job->resource_name());
        $this->assertSame('http://h/p/v1/echo/n1', $job->resource_uri());
        $this->assertSame('v1', $job->api_version());
        $this->assertSame(Job::JOB_SYNC, $job->type());
        $this->assertSame('127.0.0.1', $job->remote_ip());
        $this->assertSame('bob', $job->remote_user());
        $this->assertSame('read', $job->remote_scopes());
        $this->assertNull($job->trace_id());
        $traced = new Job($job);
        $traced->traceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')->tracestate('congo=t61rcWkgMzE');
        $this->assertSame('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', $traced->traceparent());
        $this->assertSame('congo=t61rcWkgMzE', $traced->tracestate());
        $this->assertSame('4bf92f3577b34da6a3ce929d0e0e4736', $traced->trace_id());
        $this->assertNull($job->status());
        $this->assertNull($job->event_status());

        $copy = new Job($job);
        $copy->name('do_get_phptest_fail_v1')->content('{"x": [1]}')->type(Job::JOB_ASYNC);
        $copy->add_argument('three')->add_header('X-New', 'y')->environ([]);
        $this->assertSame('do_get_phptest_fail_v1', $copy->name());
        $this->assertSame(['x' => [1]], $copy->json_content());
        $this->assertSame(Job::JOB_ASYNC, $copy->type());
        $this->assertSame(['n1', 'two', 'three'], $copy->arguments());
        $this->assertSame(['x-h' => 'v', 'x-new' => 'y'], $copy->headers());
        $this->assertSame([], $copy->environ());
        $this->assertSame('do_get_phptest_echo_v1', $job->name(), 'the original is unchanged');
        $this->assertStringContainsString('"name":"do_get_phptest_fail_v1"', $copy->serialize());

        $bad = new Job($job);
        $bad->content('{oops');
        $this->expectException(ERR_BAD_REQUEST::class);
        $bad->json_content();
    }

    public function testJobManagerMakesJobsInC(): void
    {
        $w = $this->worker();
        $jm = $w->job_manager();
        $jm->base_uri('http://h/phptest/v1');
        $job = $jm->job('do_put_phptest_thing_v1');
        $this->assertSame('phptest', $job->component());
        $this->assertSame('create', $job->operation());
        $this->assertSame('thing', $job->resource_type());
        $this->assertSame(Job::JOB_ASYNC, $job->type());
        $this->assertSame('http://h/phptest/v1', $job->base_uri());
        $this->assertNull($job->status());
        $this->assertMatchesRegularExpression('/^a-[0-9a-z]{26}$/', JobManager::gen_id('a'));
        $this->assertTrue($jm->known_job_name('do_get_phptest_echo_v1'));
        $this->assertFalse($jm->known_job_name('do_get_other_echo_v1'));
        try {
            $jm->job('do_get_phptest_unknown_v1');  // not in "handlers", and no gearmand to ask
            $this->fail('an unknown handler');
        } catch (ERR_SERVICE_UNAVAILABLE $e) {
            $this->assertStringContainsString('cannot tell whether handler "do_get_phptest_unknown_v1" is known',
                                              $e->getMessage());
        }
        $copy = $jm->job('do_post_phptest_thing_v1', $job);
        $this->assertSame('do_post_phptest_thing_v1', $copy->name());
        $rest = $jm->job(HttpClient::METHOD_PUT, 'http://127.0.0.1:1/x/v1/y');
        $this->assertTrue($rest->is_rest());
        $this->assertSame(HttpClient::METHOD_PUT, $rest->rest_method());
        $this->assertSame('http://127.0.0.1:1/x/v1/y', $rest->rest_uri());

        $job->content('{"x": 1}')->add_argument('t1')->resource_name('t1');
        $job->on(Job::EVENT_COMPLETED, $jm->job('do_delete_phptest_thing_v1'));
        $env = json_decode($job->serialize(), true);
        $this->assertSame('do_delete_phptest_thing_v1', $env['on']['COMPLETED']['name']);
        $follow = (new Job($job))->name('do_post_phptest_thing_v1');
        $this->assertSame(['t1'], $follow->arguments());
        $this->assertSame('do_put_phptest_thing_v1', $job->name(), 'the original is unchanged');
    }

    public function testAsyncRunsDelaysEventsAndCancelWithoutGearmand(): void
    {
        $jm = $this->worker()->job_manager();
        $jm->base_uri('http://h/phptest/v1');
        $job = $jm->job('do_put_phptest_thing_v1');
        $resp = $job->run();
        $this->assertSame(202, $resp->code());
        $this->assertStringStartsWith('http://h/phptest/v1/status/s-', $resp->status_uri());
        $st = $resp->status();
        $this->assertSame(Status::STATE_PENDING, $st->state(), 'no gearmand: it waits in the store');
        $this->assertSame($st->name(), $job->status()->name());

        $later = $jm->delay($jm->job('do_post_phptest_thing_v1'), 60)->status();
        $this->assertGreaterThan(time() + 30, $later->ytime());

        $before = microtime(true);
        $jm->retry($job, 0.5, 0.2); // Gearbox's retry($job, $max_delay, $max_jitter)
        $st->sync();
        $this->assertSame(1, $st->failures());
        $pause = \gbx_status_ytime($st->_ptr()) - $before; // ytime() is whole seconds, as in Gearbox
        $this->assertTrue($pause >= 0.45 && $pause <= 1.7, "Fibonacci 1 capped at 0.5 s, + up to 0.2 s: $pause");

        $st->on(Status::EVENT_CANCEL, $jm->job('do_delete_phptest_thing_v1'));
        $this->assertSame('do_delete_phptest_thing_v1', $st->events()['CANCEL']['name']);
        $st->on(Status::EVENT_CANCEL, null);
        $this->assertSame([], $st->events());
        $this->assertSame(3, $st->counter_add('n', 3));
        $st->checkpoint();
        $cancel = $st->cancel();
        $this->assertSame('update', $cancel->operation());
        $st->sync();
        $this->assertSame(Status::STATE_CANCELLED, $st->state());
        $this->assertSame(410, $st->code());
        $this->expectException(ERR_GONE::class);
        $st->checkpoint();
    }

    public function testJobQueues(): void
    {
        $jm = $this->worker()->job_manager();
        $q = $jm->job_queue([['name' => 'do_post_phptest_thing_v1', 'require' => ['do_put_phptest_thing_v1']],
                             ['name' => 'do_put_phptest_thing_v1']]);
        // As in Gearbox: a plain array of levels, each an array of Jobs.
        $this->assertIsArray($q);
        $this->assertCount(2, $q);
        $this->assertTrue(array_is_list($q));
        foreach ($q as $level) {
            $this->assertIsArray($level);
            $this->assertContainsOnlyInstancesOf(Job::class, $level);
        }
        $this->assertSame('do_put_phptest_thing_v1', $q[0][0]->name());
        $jm->job_queue_apply($q, 'content', 'shared');
        foreach ($q as $level) {
            foreach ($level as $job) {
                $this->assertSame('shared', $job->content());
            }
        }
        array_push($q[1], $jm->job('do_put_phptest_thing_v1'));
        $this->assertCount(2, $q[1], 'a job pushed onto a level stays there');
        $this->assertSame('do_post_phptest_thing_v1', array_reverse($q)[0][0]->name());
        $this->assertSame([], $jm->job_queue([]));
        try {
            $jm->job_queue_run([['do_put_phptest_thing_v1']]);
            $this->fail('levels hold jobs, not names');
        } catch (ERR_BAD_REQUEST $e) {
            $this->assertStringContainsString('each an array of Jobs', $e->getMessage());
        }
        $this->expectException(ERR_INTERNAL_SERVER_ERROR::class);
        $jm->job_queue([['name' => 'do_put_phptest_thing_v1', 'require' => 'do_put_phptest_thing_v1']]);
    }

    public function testJobQueueInGearboxsObjectForm(): void
    {
        $jm = $this->worker()->job_manager();
        // As Gearbox's PHP workers pass it (json_decode(..., true)): [] is {}.
        $q = $jm->job_queue(json_decode('{"do_put_phptest_thing_v1": {},
            "do_post_phptest_thing_v1": {"require": ["do_put_phptest_thing_v1"], "type": "SYNC"},
            "do_delete_phptest_thing_v1": {"require": ["do_put_phptest_thing_v1"]},
            "http://127.0.0.1:1/phptest/v1/thing/x": {"method": "PUT",
                "require": ["do_post_phptest_thing_v1", "do_delete_phptest_thing_v1"]}}', true));
        $names = array_map(fn($level) => array_map(fn($job) => $job->name(), $level), $q);
        $this->assertSame([['do_put_phptest_thing_v1'], ['do_post_phptest_thing_v1', 'do_delete_phptest_thing_v1'],
                           ['PUT http://127.0.0.1:1/phptest/v1/thing/x']], $names);
        $this->assertSame(Job::JOB_SYNC, $q[1][0]->type());
        try {
            $jm->job_queue(['do_put_phptest_thing_v1' => ['require' => ['do_post_phptest_thing_v1']],
                            'do_post_phptest_thing_v1' => ['require' => ['do_put_phptest_thing_v1']]]);
            $this->fail('a cycle');
        } catch (ERR_INTERNAL_SERVER_ERROR $e) {
            $this->assertStringContainsString('dependency cycle', $e->getMessage());
        }
    }

    public function testStatusesInTheStore(): void
    {
        $sm = $this->worker()->status_manager();  // the worker lives on through $sm
        gc_collect_cycles();
        $sm->base_uri('http://h/p/v1');
        $s = $sm->create(null, 'create', 'http://h/p/v1/thing/a');
        $this->assertMatchesRegularExpression('/^s-[0-9a-z]{26}$/', $s->name());
        $this->assertSame('http://h/p/v1/status/' . $s->name(), $s->uri());
        $this->assertSame((string)$s, $s->name());
        $this->assertSame(Status::STATE_PENDING, $s->state());
        $s->state(Status::STATE_RUNNING);
        $s->progress(30);
        $s->progress(20);
        $s->add_message('hello');
        $s->add_child('http://h/p/v1/status/s-child');
        $s->meta('k', ['a' => 1]);
        $s->meta(['n' => 2]);
        $this->assertSame(30, $s->progress());
        $this->assertSame(['hello'], $s->messages());
        $this->assertSame(['http://h/p/v1/status/s-child'], $s->children());
        $this->assertSame(['k' => ['a' => 1], 'n' => 2], $s->meta());
        $this->assertSame(['a' => 1], $s->meta('k'));
        $again = $sm->fetch($s->uri());
        $this->assertSame(30, $again->progress());
        $s->fail(409, 'CONFLICT [409]: no');
        $this->assertTrue($s->has_completed());
        $this->assertFalse($s->is_success());
        $this->assertSame(409, $s->code());
        $again->sync();
        $this->assertSame(Status::STATE_COMPLETED, $again->state());
        $this->assertGreaterThan(0, $again->ctime());
        try {
            $s->success();
            $this->fail('completed twice');
        } catch (ERR_CONFLICT $e) {
            $this->assertStringContainsString('COMPLETED', $e->getMessage());
        }
        $list = $sm->collection(['state' => 'COMPLETED', '_count' => 5]);
        $this->assertContains($s->name(), array_map(fn($x) => $x->name(), $list));
        $this->expectException(ERR_NOT_FOUND::class);
        $sm->fetch('s-00000000000000000000000000');
    }

    public function testConfig(): void
    {
        $cfg = $this->worker()->cfg();
        gc_collect_cycles();
        $this->assertSame('phptest', $cfg->get_string('component'));
        $this->assertSame('text', $cfg->get_string('extra', 's'));
        $this->assertSame(42, $cfg->get_int('extra', 'n'));
        $this->assertSame(7, $cfg->get_int_default('extra', 'none', 7));
        $this->assertSame('d', $cfg->get_string_default('extra.none', 'd'));
        $this->assertSame([1, 2], $cfg->get_json('extra.list'));
        $this->assertSame('phptest', $cfg->as_json()['component']);
        $this->expectException(ERR_NOT_FOUND::class);
        $cfg->get_string('extra', 'none');
    }

    public function testBadWorkerConfigAndHandlers(): void
    {
        try {
            new Worker(self::$dir . '/none.conf');
            $this->fail('no exception');
        } catch (ERR_NOT_FOUND $e) {
            $this->assertStringContainsString('none.conf', $e->getMessage());
        }
        $w = $this->worker();
        try {
            $w->set_retryable('do_get_phptest_unregistered_v1', false);
            $this->fail('set_retryable of an unregistered handler');
        } catch (ERR_NOT_FOUND $e) {
            $this->assertStringContainsString('not registered', $e->getMessage());
        }
        $this->expectException(ERR_INTERNAL_SERVER_ERROR::class);
        $w->register_handler('do_get_phptest_nothing_v1');
    }

    /** Every way a worker program hands its config over: a path, or its
     * $argv with PROG CONFIG, PROG --config CONFIG or PROG --config=CONFIG
     * (the core's gbx_config_path_from_args picks the path). */
    public function testWorkerTakesAPathOrTheProgramsArgv(): void
    {
        $back = getcwd();
        chdir(__DIR__);
        try {
            foreach ([__DIR__ . '/phptest.conf', 'phptest.conf', '--config=phptest.conf',
                      ['w.php', 'phptest.conf'], ['w.php', '--config', 'phptest.conf'],
                      ['w.php', '--config=phptest.conf'], [1 => 'w.php', 2 => '--config', 3 => 'phptest.conf'],
                      ['w.php', '--max-requests', '3', '--config', __DIR__ . '/phptest.conf']] as $given) {
                $cfg = (new Worker($given))->cfg();
                $this->assertSame('phptest', $cfg->get_string('component'), json_encode($given));
                $this->assertSame(realpath(__DIR__), $cfg->dir(), json_encode($given));
            }
        } finally {
            chdir($back);
        }
    }

    public static function badWorkerArguments(): array
    {
        return [
            ['--config', ERR_BAD_REQUEST::class,
             '/^"--config" is an option, not a config file: give the worker the program\'s arguments/'],
            [['w.php'], ERR_BAD_REQUEST::class, '/^w.php: no config given: run it as w.php CONFIG or w.php --config CONFIG$/'],
            [['w.php', '--config'], ERR_BAD_REQUEST::class, '/^w.php: --config needs a path after it$/'],
            [['w.php', '--config', 'a.conf', '--config=b.conf'], ERR_BAD_REQUEST::class,
             '/^w.php: --config given twice \("a.conf" and "b.conf"\)$/'],
            [['w.php', '--config', '/nonexistent/x.conf'], ERR_NOT_FOUND::class,
             '#^cannot open config /nonexistent/x.conf: No such file or directory$#'],
            ['/nonexistent/y.conf', ERR_NOT_FOUND::class, '#^cannot open config /nonexistent/y.conf: No such file#'],
        ];
    }

    /** @dataProvider badWorkerArguments */
    public function testWorkerNamesWhatIsWrongWithItsArguments($given, string $class, string $message): void
    {
        $this->expectException($class);
        $this->expectExceptionMessageMatches($message);
        new Worker($given);
    }

    public function testConstants(): void
    {
        $this->assertSame([0, 1, 2, 3], [Worker::WORKER_SUCCESS, Worker::WORKER_ERROR, Worker::WORKER_CONTINUE,
                                         Worker::WORKER_RETRY]);
        $this->assertSame(Gearbox\Worker::WORKER_SUCCESS, GBX_WORKER_SUCCESS);
        $this->assertSame('COMPLETED', Status::state2str(Status::STATE_COMPLETED));
        $this->assertSame(Status::STATE_CANCELLED, Status::str2state('cancelled'));
        $this->assertSame(Status::STATE_UNKNOWN, Status::str2state('nonsense'));
        $this->assertSame(2, Status::EVENT_CANCEL);
        $this->assertSame(6, Job::EVENT_CANCELLED);
        $this->assertSame(0, HttpClient::METHOD_GET);
        $this->assertTrue(is_subclass_of('Gearbox\\ERR_GONE', 'GearboxError'));
    }
}
