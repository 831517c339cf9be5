# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# The Perl barn behind a real gateway and gearmand: the HTTP round trips
# the C barn serves, at /perl/barn.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use GearboxTest;
use HTTP::Tiny;
use JSON::PP ();
use POSIX ();

my $build = $ENV{GEARBOX_BUILD_DIR} or plan skip_all => 'GEARBOX_BUILD_DIR not set';
my $src   = $ENV{GBX_SOURCE_DIR} || "$FindBin::Bin/../../..";
my $gateway = "$build/gateway/gearbox-gateway";
plan skip_all => "no $gateway" unless -x $gateway;

my $gport = start_gearmand();
my $hport = GearboxTest::free_port();
my $state = tmpdir() . '/state';
mkdir $state;
$ENV{GEARMAN_PORT}      = $gport;
$ENV{GEARBOX_PORT}      = $hport;
$ENV{GEARBOX_STATE_DIR} = $state;

my $gwconf = tmpdir() . '/gateway.conf';
open my $fh, '>', $gwconf or die $!;
print $fh JSON::PP->new->encode( {
    listen => { address => '127.0.0.1', port => $hport },
    gearman => { servers => ["127.0.0.1:$gport"] },
    status => { type => 'sqlite', path => "$state/status.db" },
    log => { level => 'warn', file => tmpdir() . '/gateway.log' },
    locations => [ { prefix => '/perl/barn', auth => 'none', config => "$src/examples/barn/conf/barnperl.conf", timeout => 30 } ],
} );
close $fh;

sub spawn {
    my @cmd = @_;
    my $pid = fork // die "fork: $!";
    if ( !$pid ) {
        open STDIN, '<', '/dev/null';
        { exec @cmd };
        POSIX::_exit(127);
    }
    GearboxTest::track_pid($pid);
    return $pid;
}
my $wpid = spawn( $^X, "$src/examples/barn/perl/barn_worker.pl", '--config', "$src/examples/barn/conf/barnperl.conf",
    '--log-file', tmpdir() . '/barn.log' );
spawn( $gateway, '--config', $gwconf );

my $http = HTTP::Tiny->new( timeout => 30 );
my $base = "http://127.0.0.1:$hport/perl/barn/v1";
ok( wait_until( sub { $http->get("$base/animal")->{status} == 200 }, 30 ), 'the Perl barn answers' );
my $json = JSON::PP->new;

sub poll {
    my $uri = shift;
    my $st;
    wait_until( sub { $st = $json->decode( $http->get($uri)->{content} ); $st->{state} eq 'COMPLETED' }, 30 );
    return $st;
}

my $r = $http->put( "$base/animal/Wilbur", { content => '{"name": "Wilbur", "species": "Sus domestica"}' } );
is( $r->{status}, 202, 'PUT -> 202' );
my $st = poll( $json->decode( $r->{content} )->{status_uri} );
is( $st->{code}, 0, 'PUT completed with code 0' );
is_deeply( $st->{messages}, [ 'animal "Wilbur" created', 'Wilbur is happily rolling around in the mud!' ], 'PUT messages' );

$r = $http->get("$base/animal/Wilbur");
is( $r->{status}, 200, 'GET -> 200' );
is_deeply( $json->decode( $r->{content} ), { name => 'Wilbur', species => 'Sus domestica' }, 'GET the animal' );
is( $r->{headers}{'content-type'}, 'application/json', 'Content-Type' );

$r = $http->get("$base/animal/Fern");
is( $r->{status}, 404, 'GET unknown -> 404' );
is_deeply( $json->decode( $r->{content} )->{messages}, ['NOT_FOUND [404]: animal "Fern" not found'], '404 message' );

$r = $http->get("$base/animal/.hidden");
is( $r->{status}, 400, 'bad name -> 400' );

$r = $http->request( 'POST', "$base/animal/Wilbur", { content => '{"name": "Babe"}' } );
$st = poll( $json->decode( $r->{content} )->{status_uri} );
is( $st->{code}, 400, 'renaming by POST fails with 400' );
is_deeply( $st->{messages}, ['BAD_REQUEST [400]: the name of animal "Wilbur" cannot change'], '... and says why' );

$r = $http->request( 'POST', "$base/animal", { content => '{"name": "Charlotte", "species": "Araneus cavaticus"}' } );
is( $r->{status}, 202, 'POST create -> 202' );
my $created = $json->decode( $r->{content} );
$st = poll( $created->{status_uri} );
is( $st->{code}, 0, 'the spider is done' );
is( $st->{progress}, 100, 'progress 100' );
like( $st->{messages}[-1], qr/^Charlotte's web is complete! It says: '(SOME PIG|TERRIFIC|RADIANT|HUMBLE)'$/, 'web message' );

$r = $http->get("$base/animal");
is( scalar @{ $json->decode( $r->{content} )->{animals} }, 2, 'two animals listed' );

$r = $http->delete("$base/animal/Wilbur");
$st = poll( $json->decode( $r->{content} )->{status_uri} );
is( $st->{code}, 0, 'DELETE completed' );
is( $http->get("$base/animal/Wilbur")->{status}, 404, 'gone' );

GearboxTest::stop_pid($wpid);
ok( !kill( 0, $wpid ), 'SIGTERM stops the Perl barn' );
done_testing;
