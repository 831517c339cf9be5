# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# A Perl worker serving 10,000 trivial jobs from a real gearmand: its RSS
# (VmRSS) after 10,000 jobs may not exceed the RSS after 1,000 by more than
# 8 MiB.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use GearboxTest;
use POSIX ();

my $port   = start_gearmand();
my $config = write_config($port);
my $pid    = fork // die "fork: $!";
if ( !$pid ) {
    { exec $^X, "$FindBin::Bin/bin/trivial_worker.pl", $config, tmpdir() . '/rss-worker.log' };
    POSIX::_exit(127);
}
GearboxTest::track_pid($pid);

my $fn = 'do_get_perltest_trivial_v1';
sub batch {
    my ( $from, $count ) = @_;
    my @lines = map { GearboxTest::envelope( $fn, arguments => ["a$_"] ) } $from .. $from + $count - 1;
    my $out = submit( $port, $fn, undef, lines => \@lines )->();
    my $ok  = () = $out =~ /"content":"\{\\"n\\":\d+/g;
    my $nf  = () = $out =~ /"code":404/g;
    return ( $ok, $nf );
}

my ( $ok, $nf ) = batch( 1, 1000 );
is( $ok + $nf, 1000, 'first 1,000 jobs answered' );
is( $nf, 100, 'every tenth one failed with 404' );
my $rss1 = rss_kib($pid);
( $ok, $nf ) = batch( 1001, 9000 );
is( $ok + $nf, 9000, 'next 9,000 jobs answered' );
my $rss2 = rss_kib($pid);
diag("VmRSS after 1,000 jobs: $rss1 KiB; after 10,000 jobs: $rss2 KiB; growth " . ( $rss2 - $rss1 ) . " KiB");
ok( $rss2 - $rss1 < 8 * 1024, 'RSS growth under 8 MiB' );

GearboxTest::stop_pid($pid);
done_testing;
