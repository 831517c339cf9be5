# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Gearbox's names in Perl: every ERR_* class of Gearbox's Errors.h (and
# today's spellings as the same class), each failing a handler's job with its
# code through a real gearmand; Gearbox::StopWatch and Gearbox::Scoreboard,
# also from inside a handler as Gearbox's test workers used them.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use GearboxTest;
use JSON::PP ();

package CompatWorker;
use Gearbox::Worker;
use base 'Gearbox::Worker';

sub new {
    my ( $class, $config ) = @_;
    my $self = $class->SUPER::new($config);
    $self->register_handler('do_get_perlcompat_error_v1');
    $self->register_handler('do_get_perlcompat_metrics_v1');
    return $self;
}

# Dies with the class named by the argument, as a Gearbox worker would.
sub do_get_perlcompat_error_v1 {
    my ( $self, $job, $resp ) = @_;
    my $name = $job->arguments->[0];
    die "ERR_$name"->new("raised $name");
}

sub do_get_perlcompat_metrics_v1 {
    my ( $self, $job, $resp ) = @_;
    Gearbox::Scoreboard::initialize( $job->component );
    my $sb = Gearbox::Scoreboard::get_scoreboard();
    $sb->increment_counter( 'status', 'perlcompat' );
    my $sw = Gearbox::StopWatch->new;
    $sw->start;
    $sw->stop;
    $sb->update_duration_hours( 'status', 'perlcompat', 'duration_success', $sw );
    $resp->content( $sb->counter( 'status', 'perlcompat' ) );
    return $WORKER_SUCCESS;
}

package main;

# Gearbox's list, from tests/data/gearbox-errors.txt.
my @ERRORS;
open my $fh, '<', "$ENV{GBX_SOURCE_DIR}/tests/data/gearbox-errors.txt" or die "gearbox-errors.txt: $!";
while (<$fh>) {
    next if /^#/ || !/\S/;
    my ( $name, $code ) = split;
    push @ERRORS, [ $name, $code ];
}
close $fh;
is( scalar @ERRORS, 38, "Gearbox's 38 errors" );

for my $e (@ERRORS) {
    my ( $name, $code ) = @$e;
    my $err = eval { "ERR_$name"->new('because') };
    ok( $err && $err->isa('Gearbox::Error'), "ERR_$name exists" ) or next;
    is( $err->code, $code, "ERR_$name has code $code" );
    is( "$err", "$name [$code]: because", "ERR_$name formats with its name" );
    ok( "ERR_CODE_$code"->new('x')->isa("ERR_$name"), "ERR_CODE_$code isa ERR_$name" );
}
for my $pair ( [ FOUND => 'MOVED_TEMPORARILY' ], [ REQUEST_TIMEOUT => 'REQUEST_TIME_OUT' ],
    [ REQUEST_URI_TOO_LONG => 'REQUEST_URI_TOO_LARGE' ], [ REQUESTED_RANGE_NOT_SATISFIABLE => 'RANGE_NOT_SATISFIABLE' ],
    [ GATEWAY_TIMEOUT => 'GATEWAY_TIME_OUT' ], [ HTTP_VERSION_NOT_SUPPORTED => 'VERSION_NOT_SUPPORTED' ] )
{
    my ( $old, $name ) = @$pair;
    my $err = "ERR_$old"->new('x');
    ok( $err->isa("ERR_$name") && "ERR_$name"->new('y')->isa("ERR_$old"), "ERR_$old is ERR_$name" );
}

my $port   = start_gearmand();
my $config = write_config( $port, component => 'perlcompat' );
Gearbox::log_to_file( tmpdir() . '/worker.log' );
my $w = CompatWorker->new($config);

sub call_sync { serve_sync( $port, $w, @_ ) }

for my $e ( @ERRORS, [ GATEWAY_TIMEOUT => 504 ] ) {
    my ( $name, $code ) = @$e;
    my $r = call_sync( 'do_get_perlcompat_error_v1', arguments => [$name] );
    is( $r->{code}, $code, "die ERR_$name->new(...) fails the job with $code" );
    my $shown = Gearbox::Core::gbx_err_name($code);
    is_deeply( JSON::PP->new->decode( $r->{content} )->{messages}, ["$shown [$code]: raised $name"],
        "... and its message" );
}

# Scoreboard and StopWatch inside a handler.
my $r = call_sync('do_get_perlcompat_metrics_v1');
is( $r->{code},    0, 'the metrics handler succeeds' );
is( $r->{content}, 1, 'it counted once' );
my $board = Gearbox::Scoreboard::snapshot()->{components}{perlcompat};
is( $board->{counters}{status}{perlcompat}, 1, 'the snapshot has the counter' );
is( $board->{durations}{status}{perlcompat}{duration_success}{count}, 1, 'and the duration' );

# StopWatch.
my $sw = new Gearbox::StopWatch();
ok( !$sw->running && $sw->elapsed == 0, 'a new stopwatch reads 0' );
$sw->start;
ok( $sw->running, 'running after start' );
my $stopped = $sw->stop;
ok( $stopped >= 0 && !$sw->running, 'stop returns the reading' );
is( $sw->elapsed, $stopped, 'a stopped stopwatch keeps its reading' );

# Scoreboard as class methods, errors.
my $sb = Gearbox::Scoreboard->initialize('perlother');
is( Gearbox::Scoreboard->get_scoreboard->component, 'perlother', 'initialize switches the current scoreboard' );
is( $sb->add_counter( 'jobs', 'x', 5 ), 5, 'add_counter returns the new value' );
$sb->update_duration( 'jobs', 'x', 'run', 1.5 );
is( Gearbox::Scoreboard::snapshot()->{components}{perlother}{durations}{jobs}{x}{run}{max_seconds}, 1.5, 'update_duration' );
ok( !eval { $sb->update_duration_hours( 'jobs', 'x', 'run', 'not a stopwatch' ); 1 }, 'update_duration_hours needs a StopWatch' );
ok( !eval { Gearbox::Scoreboard::initialize(''); 1 } && ref $@ eq 'ERR_BAD_REQUEST', 'an empty component is refused' );

done_testing;
