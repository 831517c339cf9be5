#!/usr/bin/perl
# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# bench_worker.pl - the trivial "bench" component in Perl, for comparing the
# Perl binding's end-to-end jobs/s with the C bench worker (bench_worker.c).
# Written the way Yahoo Gearbox's Perl workers are.
#
#   PERL5LIB=<build>/bindings/perl/lib:bindings/perl/lib \
#       perl bench/worker/bench_worker.pl --config bench/conf/bench.conf
#
# Handlers (the same answers as the C bench worker):
#   do_get_bench_echo_v1   sync: {"echo": "<resource name>", "ok": true}
#   do_put_bench_echo_v1   async: does nothing and succeeds
# One process serves one job at a time; SIGTERM / SIGINT stop it after the
# current job.
package BenchWorker;

use strict;
use warnings;

use Gearbox::Worker;
use base 'Gearbox::Worker';

sub new {
    my ( $class, $config ) = @_;
    my $self = $class->SUPER::new($config);
    $self->register_handler("do_get_bench_echo_v1");
    $self->register_handler("do_put_bench_echo_v1");
    return $self;
}

sub do_get_bench_echo_v1 {
    my ( $self, $job, $resp ) = @_;
    my $name = $job->resource_name() // "";
    $name =~ s/(["\\])/\\$1/g;
    $resp->add_header( "Content-Type", "application/json" );
    $resp->content(qq({"echo":"$name","ok":true}));
    return $WORKER_SUCCESS;
}

sub do_put_bench_echo_v1 {
    return $WORKER_SUCCESS;
}

package main;

my $config;
while (@ARGV) {
    my $arg = shift @ARGV;
    if    ( $arg eq "--config" ) { $config = shift @ARGV }
    elsif ( $arg =~ /^--config=(.*)$/ ) { $config = $1 }
    else { die "usage: bench_worker.pl --config FILE\n" }
}
die "usage: bench_worker.pl --config FILE\n" unless defined $config;
BenchWorker->new($config)->run;
