# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Helpers of the Perl binding's tests: a private gearmand on a free
# loopback port (stopped by pid at exit), component configs in a temporary
# directory, envelopes, and jobs submitted with the `gearman` client.
package GearboxTest;

use strict;
use warnings;
use feature 'state';

use Exporter 'import';
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(sleep time);

our @EXPORT = qw(tmpdir start_gearmand write_config envelope submit serve_sync wait_until rss_kib);

my @PIDS;    # processes we started, stopped by pid at exit
my $TMP;

sub tmpdir { $TMP ||= tempdir( 'gbx-perl-XXXXXX', TMPDIR => 1, CLEANUP => 1 ) }

sub free_port {
    my $s = IO::Socket::INET->new( LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp', Listen => 1 )
        or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# Polls COND every 50 ms for up to SECONDS (default 30); true if it held.
sub wait_until {
    my ( $cond, $seconds ) = @_;
    my $end = time + ( $seconds || 30 );
    while ( time < $end ) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return $cond->() ? 1 : 0;
}

# Starts gearmand on a free port; returns the port.
sub start_gearmand {
    my $gearmand = $ENV{GEARMAND} || '/usr/sbin/gearmand';
    my $dir      = tmpdir();
    for my $attempt ( 1 .. 5 ) {
        my $port = free_port();
        my $pid  = fork // die "fork: $!";
        if ( !$pid ) {
            open STDIN,  '<', '/dev/null';
            open STDOUT, '>', "$dir/gearmand.$port.log";
            open STDERR, '>&', \*STDOUT;
            { exec $gearmand, '--listen=127.0.0.1', "--port=$port", '--log-file=stderr', '--verbose=WARNING',
                "--pid-file=$dir/gearmand.$port.pid" };
            POSIX::_exit(127);
        }
        push @PIDS, $pid;
        my $up = wait_until(
            sub {
                return 0 if waitpid( $pid, POSIX::WNOHANG() ) == $pid;
                my $s = IO::Socket::INET->new( PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp' );
                return $s ? 1 : 0;
            },
            30
        );
        return $port if $up && kill 0, $pid;
        @PIDS = grep { $_ != $pid } @PIDS;
    }
    die "gearmand did not start";
}

# A component config for the port; returns its path.
sub write_config {
    my ( $port, %extra ) = @_;
    my $dir = tmpdir();
    state_counter();
    my $n    = ++$GearboxTest::CONFIGS;
    my $conf = {
        component => 'perltest',
        gearman   => { servers => ["127.0.0.1:$port"] },
        status    => { type => 'sqlite', path => "$dir/status.db" },
        handlers  => [],
        %extra,
    };
    my $path = "$dir/perltest-$n.conf";
    open my $fh, '>', $path or die "$path: $!";
    print $fh JSON::PP->new->canonical->encode($conf);
    close $fh;
    return $path;
}
sub state_counter { $GearboxTest::CONFIGS //= 0 }

# A valid job envelope for handler NAME (sync unless job_type given).
sub envelope {
    my ( $name, %f ) = @_;
    my ( undef, $method, $component, $resource, $version ) = split /_/, $name;
    return {
        version   => 1,
        name      => $name,
        job_type  => 'sync',
        operation => $method eq 'put' ? 'create' : $method,
        component => $component,
        resource  => { type => $resource, ( defined $f{resource_name} ? ( name => delete $f{resource_name} ) : () ) },
        base_uri  => "http://127.0.0.1:4080/$component/$version",
        %f,
    };
}

# Submits one job (or, with lines => [...], one job per line) through the
# gearman client in the background; returns a sub that waits for the client
# and returns its output.
sub submit {
    my ( $port, $function, $workload, %opt ) = @_;
    my $dir = tmpdir();
    state $n = 0;
    $n++;
    my $in  = "$dir/submit-$$-$n.in";
    my $out = "$dir/submit-$$-$n.out";
    open my $fh, '>', $in or die "$in: $!";
    if ( $opt{lines} ) {
        print $fh map { JSON::PP->new->canonical->encode($_) . "\n" } @{ $opt{lines} };
    }
    else {
        print $fh ref $workload ? JSON::PP->new->canonical->encode($workload) : $workload;
    }
    close $fh;
    my @cmd = ( 'gearman', '-h', '127.0.0.1', '-p', $port, '-f', $function );
    push @cmd, '-b' if $opt{background};
    push @cmd, '-n' if $opt{lines};
    my $pid = fork // die "fork: $!";
    if ( !$pid ) {
        open STDIN,  '<', $in;
        open STDOUT, '>', $out;
        { exec @cmd };
        POSIX::_exit(127);
    }
    return sub {
        waitpid( $pid, 0 );
        open my $r, '<', $out or return undef;
        local $/;
        return scalar <$r>;
    };
}

# Submits a sync job for handler FN (envelope fields %ENV) and serves it
# with WORKER in this process; the decoded reply (a test fails when no job
# came).
sub serve_sync {
    my ( $port, $worker, $fn, %env ) = @_;
    my $wait   = submit( $port, $fn, envelope( $fn, %env ) );
    my $served = 0;
    for ( 1 .. 20 ) { last if $served = $worker->work_once(1000) }
    Test::More::ok( $served, "$fn served" );
    return JSON::PP->new->decode( $wait->() );
}

# VmRSS of PID in KiB.
sub rss_kib {
    my $pid = shift;
    open my $fh, '<', "/proc/$pid/status" or return undef;
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)\s+kB/ }
    return undef;
}

sub stop_pid {
    my $pid = shift;
    kill 'TERM', $pid;
    my $gone = wait_until( sub { waitpid( $pid, POSIX::WNOHANG() ) == $pid || !kill( 0, $pid ) }, 30 );
    if ( !$gone ) { kill 'KILL', $pid; waitpid( $pid, 0 ) }
}

sub track_pid { push @PIDS, @_ }

END {
    my $rc = $?;
    stop_pid($_) for reverse @PIDS;
    @PIDS = ();
    $? = $rc;
}

1;
