#!/usr/bin/perl
# The hello service in Perl (docs/first-service.md), component helloperl:
#
#   PUT /perl/hello/v1/greeting/<name> {"text": "Hello"}  async: 202 and a status to poll
#   GET /perl/hello/v1/greeting/<name>                    sync: 200 {"name", "greeting"}, or 404
#
# Usage: hello_worker.pl CONFIG   (SIGTERM or SIGINT stops it)
use strict;
use warnings;

package HelloWorker;
use Gearbox::Worker;    # exports $WORKER_SUCCESS ... and the ERR_* classes
use base 'Gearbox::Worker';
use JSON::PP;

sub new {
    my ( $class, $config ) = @_;
    my $self = $class->SUPER::new($config);
    $self->{greetings} = $self->cfg->get_path( 'hello.dir', 'state/helloperl' );
    mkdir $self->{greetings} unless -d $self->{greetings};
    $self->register_handler('do_put_helloperl_greeting_v1');    # the subs below
    $self->register_handler('do_get_helloperl_greeting_v1');
    return $self;
}

# <dir>/<name>.json of the name in the URL: letters and digits only, so that
# no name leaves the directory.
sub greeting_file {
    my ( $self, $job ) = @_;
    my $name = $job->resource_name;
    die ERR_BAD_REQUEST->new("a greeting's name is letters and digits")
        unless $name =~ /\A[A-Za-z0-9]{1,64}\z/;
    return "$self->{greetings}/$name.json";
}

# PUT: async, so the client gets 202 and polls the status.
sub do_put_helloperl_greeting_v1 {
    my ( $self, $job, $resp ) = @_;
    my $path   = $self->greeting_file($job);
    my $name   = $job->resource_name;
    my $body   = $job->json_content;    # checked against schemas/create-helloperl-greeting-v1.js
    my $status = $resp->status;
    $status->add_message("writing the greeting for $name");
    $status->progress(50);
    open my $f, '>', $path or die "cannot write $path: $!";
    print $f encode_json( { name => $name, greeting => "$body->{text}, $name!" } );
    close $f or die "cannot write $path: $!";
    $status->add_message("greeting for $name saved");
    return $WORKER_SUCCESS;             # COMPLETED, progress 100, code 0
}

# GET: sync, the answer is the HTTP response.
sub do_get_helloperl_greeting_v1 {
    my ( $self, $job, $resp ) = @_;
    my $path = $self->greeting_file($job);
    open my $f, '<', $path
        or die ERR_NOT_FOUND->new( "no greeting for " . $job->resource_name );    # HTTP 404
    local $/;
    $resp->content(<$f>);
    $resp->add_header( 'Content-Type', 'application/json' );
    return $WORKER_SUCCESS;             # HTTP 200
}

package main;
die "usage: hello_worker.pl CONFIG\n" unless @ARGV == 1;
HelloWorker->new( $ARGV[0] )->run;    # until SIGTERM or SIGINT
