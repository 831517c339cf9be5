# Gearbox::JobManager - makes jobs for other handlers and services.  Jobs
# are built here; running, scheduling and chaining them (run, delay, retry,
# job_queue_run, REST jobs) come with the orchestration of Gearbox [C] and
# die with ERR_NOT_IMPLEMENTED until then.
package Gearbox::JobManager;

use strict;
use warnings;

use Scalar::Util qw(blessed);

use Gearbox::Core ();
use Gearbox::Errors ();
use Gearbox::Job ();

our $REQUIRE_SCHEMAS = 0;

# new($worker) or new($config_file | Gearbox::ConfigFile).
sub new {
    my ( $class, $from ) = @_;
    my $self = bless {}, $class;
    if ( blessed $from && $from->isa('Gearbox::Worker') ) {
        $self->{owner} = $from;
        $self->{cfg}   = $from->cfg;
    }
    elsif ( defined $from ) {
        $self->{cfg} = blessed $from ? $from : Gearbox::ConfigFile->new("$from");
    }
    return $self;
}

sub _not_yet {
    my $what = shift;
    die ERR_NOT_IMPLEMENTED->new("$what needs the orchestration of Gearbox [C], which is not available yet");
}

sub parent_uri { my $s = shift; $s->{parent_uri} = shift if @_; $s->{parent_uri} }
sub base_uri   { my $s = shift; $s->{base_uri}   = shift if @_; $s->{base_uri} }
sub cfg        { my $s = shift; $s->{cfg} = shift if @_; $s->{cfg} }

# True when NAME is one of the handlers of the config.
sub known_job_name {
    my ( $self, $name ) = @_;
    my $handlers = $self->{cfg} ? $self->{cfg}->get_json('handlers') : undef;
    return 0 unless ref $handlers eq 'ARRAY';
    return ( grep { $_ eq $name } @$handlers ) ? 1 : 0;
}

# job(NAME): a new async job for the handler NAME ("do_get_barn_animal_v1").
# job(NAME, ENVELOPE): a job over an envelope (hashref or JSON text) renamed
# to NAME.  job($METHOD, URI): a REST job (needs [C]).
sub job {
    my ( $self, $a, $b ) = @_;
    if ( defined $a && $a =~ /^\d+$/ && defined $b ) {
        _not_yet('a REST job (JobManager->job($method, $uri))');
    }
    die ERR_BAD_REQUEST->new("job needs a handler name") unless defined $a && length $a;
    if ( defined $b ) {
        my $job = Gearbox::Job->new($b);
        $job->name($a);
        return $job;
    }
    my ( $method, $component, $resource, $version ) = @{ Gearbox::Core::gbx_pl_handler_parse("$a") };
    my $env = Gearbox::Core::gbx_envelope_new();
    my $ok = eval {
        Gearbox::Core::gbx_envelope_set( $env, 'name', "$a" );
        Gearbox::Core::gbx_envelope_set( $env, 'job_type', 'async' );
        Gearbox::Core::gbx_envelope_set( $env, 'operation',
            Gearbox::Core::gbx_operation_for_method( uc $method, 1 ) // $method );
        Gearbox::Core::gbx_envelope_set( $env, 'component',     $component );
        Gearbox::Core::gbx_envelope_set( $env, 'resource.type', $resource );
        Gearbox::Core::gbx_envelope_set( $env, 'base_uri',   $self->{base_uri} )   if defined $self->{base_uri};
        Gearbox::Core::gbx_envelope_set( $env, 'parent_uri', $self->{parent_uri} ) if defined $self->{parent_uri};
        1;
    };
    if ( !$ok ) {
        my $err = $@;
        Gearbox::Core::gbx_envelope_free($env);
        die $err;
    }
    return Gearbox::Job->_from_envelope($env);
}

sub delay         { _not_yet('JobManager->delay') }
sub retry         { _not_yet('JobManager->retry') }
sub job_queue     { _not_yet('JobManager->job_queue') }

sub job_queue_run {
    _not_yet('JobManager->job_queue_run');
}

# Calls SUB->($job, DATA) for every job of a queue (levels of jobs).
sub job_queue_apply {
    shift if ref $_[0] ne 'ARRAY';
    my ( $queue, $sub, $data ) = @_;
    for my $level (@$queue) {
        $sub->( $_, $data ) for @$level;
    }
    return;
}

# A new id "<prefix>-<26 chars>" (class or instance method, or function).
sub gen_id {
    shift if @_ > 1 || ( @_ && ( ref $_[0] || $_[0] eq __PACKAGE__ ) );
    my ($prefix) = @_;
    return Gearbox::Core::gbx_id_generate( defined $prefix ? "$prefix" : undef );
}

sub requireSchemas {
    shift if @_ > 1 || ( @_ && ( ref $_[0] || $_[0] eq __PACKAGE__ ) );
    $REQUIRE_SCHEMAS = shift ? 1 : 0;
    return;
}

1;
