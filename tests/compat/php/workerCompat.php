<?php
// SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
/* workerCompat.php - a test worker written the way Yahoo Gearbox's PHP test
 * workers were (a Worker subclass, handlers registered by name, Gearbox's
 * object-form agent graphs, afterwards, retry, on(Job::EVENT_COMPLETED),
 * StopWatch and Scoreboard), for the compat stack test
 * (tests/compat/test_compat.py).  Component "compatphp", served under
 * /php/compat.  Usage: php -d extension=gearbox.so workerCompat.php CONFIG_FILE
 */

$gearbox_layer = __DIR__ . '/../../../bindings/php/Gearbox.php';
require_once(file_exists($gearbox_layer) ? $gearbox_layer : 'Gearbox.php');

define('C', 'compatphp');

class WorkerCompatPhp extends Worker {
  private $marks;

  function __construct( $config ) {
    parent::__construct( $config );
    $this->marks = $this->cfg()->get_path( 'compat.state_dir', 'state/' . C );
    @mkdir( $this->marks );

    // resources of the REST API
    foreach ( array( 'get_thing', 'put_thing', 'get_mark', 'put_mark', 'post_graph', 'post_agents',
                     'post_hello2', 'post_continuation', 'post_retry', 'get_error', 'get_syncstatus',
                     'get_metrics' ) as $h ) {
      list( $op, $resource ) = explode( '_', $h );
      $this->register_handler( "do_{$op}_" . C . "_{$resource}_v1" );
    }
    // internal handlers: agents and continuations
    foreach ( array( 'A', 'B', 'S' ) as $agent ) {
      $this->register_handler( "do_reg_" . C . "_{$agent}_v1", 'agent_handler' );
    }
    $this->register_handler( "do_run_" . C . "_continuation_v1" );
    $this->register_handler( "do_finish_" . C . "_continuation_v1" );
    $this->register_handler( "do_append_" . C . "_note_v1" );
  }

  // Every job that reaches a "mark" appends its handler name to the marks
  // of an id (a file per id), which GET /mark/<id> returns in order.
  private function mark( $id, $what ) {
    if ( !is_string( $id ) || !preg_match( '/^[A-Za-z0-9_-]+$/', $id ) ) {
      throw new ERR_BAD_REQUEST( "invalid id" );
    }
    if ( file_put_contents( "$this->marks/$id", "$what\n", FILE_APPEND | LOCK_EX ) === false ) {
      throw new ERR_INTERNAL_SERVER_ERROR( "cannot write the marks of $id" );
    }
  }

  private static function body( $job ) {
    $c = $job->content();
    return ( $c === null || $c === '' ) ? array() : json_decode( $c, true );
  }

  function do_get_compatphp_thing_v1( $job, $resp ) {
    $resp->content( json_encode( array( 'thing' => $job->resource_name(), 'component' => C ) ) );
    return Worker::WORKER_SUCCESS;
  }

  function do_put_compatphp_thing_v1( $job, $resp ) {
    $resp->status()->add_message( "stored " . $job->resource_name() );
    return Worker::WORKER_SUCCESS;
  }

  function do_get_compatphp_mark_v1( $job, $resp ) {
    $file = "$this->marks/" . $job->resource_name();
    $marks = is_file( $file ) ? file( $file, FILE_IGNORE_NEW_LINES ) : array();
    $resp->content( json_encode( array( 'marks' => $marks ) ) );
    return Worker::WORKER_SUCCESS;
  }

  // The target of a REST entry of the graphs.
  function do_put_compatphp_mark_v1( $job, $resp ) {
    $this->mark( $job->resource_name(), "rest " . $job->name() );
    $resp->status()->add_message( "marked" );
    return Worker::WORKER_SUCCESS;
  }

  // POST /graph/<id> {"agents": GRAPH}: the graph through job_queue in
  // Gearbox's object form, each job given {"id": <id>}.
  function do_post_compatphp_graph_v1( $job, $resp ) {
    $in = self::body( $job );
    $jm = $this->job_manager();
    $queue = $jm->job_queue( $in['agents'] );
    $jm->job_queue_apply( $queue, 'content', json_encode( array( 'id' => $job->resource_name() ) ) );
    $jm->job_queue_run( $queue );
    $resp->status()->add_message( "done" );
    return Worker::WORKER_SUCCESS;
  }

  // POST /agents/<id> {"agents": GRAPH}: the same graph run by the global
  // agents runner, which this worker does not serve.
  function do_post_compatphp_agents_v1( $job, $resp ) {
    $in = self::body( $job );
    $run = $this->job_manager()->job( "do_run_global_agents_v1" );
    $run->content( json_encode( array( 'agents' => $in['agents'],
                                       'content' => json_encode( array( 'id' => $job->resource_name() ) ) ) ) );
    $s = $run->run()->status();
    $this->job_manager()->wait( $s, 120 );
    $s->sync();
    if ( !$s->is_success() ) {
      $messages = $s->messages();
      $ERR = "ERR_CODE_" . $s->code();
      throw new $ERR( end( $messages ) );
    }
    $resp->status()->add_message( "done" );
    return Worker::WORKER_SUCCESS;
  }

  function agent_handler( $job, $resp ) {
    $in = json_decode( $job->content(), true );
    $this->mark( $in['id'], $job->name() . ( $job->type() == Job::JOB_SYNC ? " sync" : "" ) );
    $resp->status()->add_message( $job->resource_type() . " registered for " . $in['id'] );
    $resp->status()->meta( $job->resource_type(), $in['id'] );
    return Worker::WORKER_SUCCESS;
  }

  // Served synchronously under the nested location /php/compat/v1/hello2.
  function do_post_compatphp_hello2_v1( $job, $resp ) {
    $resp->content( json_encode( array( 'hello' => 'hello2', 'handler' => $job->name(),
                                        'sync' => $job->type() == Job::JOB_SYNC ) ) );
    return Worker::WORKER_SUCCESS;
  }

  // A continuation: do_run retries until cancelled; do_finish, its
  // on-completed job, finishes this status.
  function do_post_compatphp_continuation_v1( $job, $resp ) {
    $run = $this->job_manager()->job( "do_run_" . C . "_continuation_v1" );
    $finish = new Job( $job );
    $finish->name( "do_finish_" . C . "_continuation_v1" );
    $run->on( Job::EVENT_COMPLETED, $finish );
    $this->afterwards( $run );
    return Worker::WORKER_CONTINUE;
  }

  function do_run_compatphp_continuation_v1( $job, $resp ) {
    $resp->status()->add_message( "run called" );
    $this->job_manager()->retry( $job, 5, 0 );
    return Worker::WORKER_CONTINUE;
  }

  function do_finish_compatphp_continuation_v1( $job, $resp ) {
    $resp->status()->add_message( "finish called" );
    return Worker::WORKER_SUCCESS;
  }

  // POST /retry/<id> {"max_delay": D, "max_jitter": J}: retries for ever
  // with Gearbox's arguments; each attempt notes when the next one is due.
  function do_post_compatphp_retry_v1( $job, $resp ) {
    $in = self::body( $job );
    $s = $resp->status();
    $s->add_message( "attempt " . ( $s->failures() + 1 ) );
    $this->job_manager()->retry( $job, $in['max_delay'], $in['max_jitter'] );
    $s->sync();
    $s->add_message( sprintf( "next in %.3f", $s->ytime() - microtime( true ) ) );
    return Worker::WORKER_CONTINUE;
  }

  // GET /error/<NAME>: throws ERR_<NAME>.
  function do_get_compatphp_error_v1( $job, $resp ) {
    $ERR = "ERR_" . $job->resource_name();
    throw new $ERR( "raised $ERR" );
  }

  // A sync handler reporting to its (throw-away) status.
  function do_get_compatphp_syncstatus_v1( $job, $resp ) {
    $s = $resp->status();
    $s->add_message( "sync message" );
    $s->progress( 50 );
    $s->meta( "sync", "yes" );
    $resp->content( json_encode( array( 'name' => $s->name(), 'progress' => $s->progress(),
                                        'messages' => $s->messages() ) ) );
    return Worker::WORKER_SUCCESS;
  }

  function do_get_compatphp_metrics_v1( $job, $resp ) {
    Scoreboard::initialize( C );
    $sb = Scoreboard::get_scoreboard();
    $sb->increment_counter( "status", C );
    $sw = new StopWatch();
    $sw->start();
    usleep( 10000 );
    $sw->stop();
    $sb->update_duration_hours( "status", C, "duration_success", $sw );
    $resp->content( json_encode( array( 'metrics' => 'updated' ) ) );
    return Worker::WORKER_SUCCESS;
  }

  function do_append_compatphp_note_v1( $job, $resp ) {
    $resp->status()->add_message( "noted" );
    return Worker::WORKER_SUCCESS;
  }
};

$worker = new WorkerCompatPhp( $argv[1] );
$worker->run();
