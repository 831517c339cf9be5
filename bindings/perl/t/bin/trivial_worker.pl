#!/usr/bin/perl
# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# A trivial Perl worker for the RSS test: touches the job's accessors and
# answers; every tenth job dies with an ERR_NOT_FOUND, so that the error
# path is measured too.
use strict;
use warnings;

package TrivialWorker;
use Gearbox::Worker;
use base 'Gearbox::Worker';

my $n = 0;

sub new {
    my $self = shift->SUPER::new(@_);
    $self->register_handler('do_get_perltest_trivial_v1');
    return $self;
}

sub do_get_perltest_trivial_v1 {
    my ( $self, $job, $resp ) = @_;
    my $args = $job->arguments;
    my $h    = $job->headers;
    my $s    = $resp->status;
    $s->add_message('x');
    die ERR_NOT_FOUND->new("no $args->[0]") if ++$n % 10 == 0;
    $resp->content( '{"n":' . $n . ',"arg":"' . $args->[0] . '"}' );
    return $WORKER_SUCCESS;
}

package main;
Gearbox::log_to_file( $ARGV[1] ) if $ARGV[1];
TrivialWorker->new( $ARGV[0] )->run;
