# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Every way a worker program hands Gearbox::Worker its config: a path, its
# arguments (\@ARGV or @ARGV) holding CONFIG, --config CONFIG or
# --config=CONFIG (the core's gbx_config_path_from_args picks the path),
# and the errors naming what is wrong.  No gearmand: new() does not connect.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use GearboxTest;
use Cwd qw(getcwd);
use File::Basename qw(basename dirname);

use Gearbox::Worker;

my $conf = GearboxTest::write_config(1);
my $dir  = dirname($conf);
my $name = basename($conf);
my $back = getcwd();
chdir $dir or die "$dir: $!";

for my $given ( [$conf], [$name], ["--config=$name"], [ [$name] ], [ [ '--config', $name ] ],
    [ ["--config=$name"] ], [ '--max-requests', 3, '--config', $name ], [ '--config', $conf ] )
{
    my $label = join ' ', map { ref $_ ? '[' . join( ' ', @$_ ) . ']' : $_ } @$given;
    my $w = eval { Gearbox::Worker->new(@$given) };
    is( $@, '', "new($label) lives" );
    is( $w && $w->cfg->get_string('component'), 'perltest', "new($label) reads the config" );
    is( $w && $w->cfg->dir, $dir, "new($label): the config's directory" );
}

# A subclass written for Gearbox (new($class, $config) passing $config on)
# takes \@ARGV the same way.
{
    package ArgvWorker;
    use base 'Gearbox::Worker';
    sub new { my ( $class, $config ) = @_; return $class->SUPER::new($config) }
}
{
    local @ARGV = ( '--config', $name );
    my $w = eval { ArgvWorker->new( \@ARGV ) };
    is( $w && $w->cfg->get_string('component'), 'perltest', 'a subclass passes \@ARGV through' );
}

my $prog = basename($0);
my @errors = (
    [ ['--config'], 'ERR_BAD_REQUEST', qr/^"--config" is an option, not a config file: give the worker the program's arguments/ ],
    [ [], 'ERR_BAD_REQUEST', qr/^\Q$prog\E: no config given: run it as \Q$prog\E CONFIG or \Q$prog\E --config CONFIG$/ ],
    [ [ [] ], 'ERR_BAD_REQUEST', qr/^\Q$prog\E: no config given/ ],
    [ [ ['--config'] ], 'ERR_BAD_REQUEST', qr/^\Q$prog\E: --config needs a path after it$/ ],
    [ [ '--config', 'a.conf', '--config=b.conf' ], 'ERR_BAD_REQUEST', qr/--config given twice \("a.conf" and "b.conf"\)/ ],
    [ ['/nonexistent/x.conf'], 'ERR_NOT_FOUND', qr{^cannot open config /nonexistent/x\.conf: No such file or directory$} ],
    [ [ [ '--config', '/nonexistent/y.conf' ] ], 'ERR_NOT_FOUND', qr{^cannot open config /nonexistent/y\.conf: No such file} ],
);
for my $e (@errors) {
    my ( $given, $class, $re ) = @$e;
    my $label = join ' ', map { ref $_ ? '[' . join( ' ', @$_ ) . ']' : $_ } @$given;
    eval { Gearbox::Worker->new(@$given) };
    is( ref $@, $class, "new($label) dies with $class" );
    like( ref $@ ? $@->msg : "$@", $re, "new($label): the message names the problem" );
}

chdir $back;
done_testing;
