# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Gearbox::Worker - base class of Perl workers, as in Yahoo's Gearbox:
#
#   package MyWorker;
#   use Gearbox::Worker;
#   use base 'Gearbox::Worker';
#   sub new {
#       my ($class, $config) = @_;
#       my $self = $class->SUPER::new($config);
#       $self->register_handler("do_get_thing_thing_v1");           # the method of that name
#       $self->register_handler("do_put_thing_thing_v1", \&put);   # or a sub
#       return $self;
#   }
#   sub do_get_thing_thing_v1 {
#       my ($self, $job, $resp) = @_;
#       die ERR_NOT_FOUND->new("no such thing") unless ...;
#       $resp->content('{"thing": 1}');
#       return $WORKER_SUCCESS;
#   }
#   MyWorker->new(\@ARGV)->run;          # PROG CONFIG or PROG --config CONFIG
#
# `use Gearbox::Worker` exports $WORKER_SUCCESS, $WORKER_ERROR,
# $WORKER_CONTINUE, $WORKER_RETRY and the log functions _TRACE, _DEBUG,
# _INFO, _WARN, _ERROR, _FATAL.  The C worker runtime (libgearbox) takes the
# jobs and calls the handlers; a handler that dies with an ERR_<NAME> fails
# its job with that code, any other die fails it with 500 and the text.
package Gearbox::Worker;

use strict;
use warnings;

use Scalar::Util qw(weaken);

use Gearbox;

our $WORKER_SUCCESS  = $Gearbox::Core::GBX_WORKER_SUCCESS;
our $WORKER_ERROR    = $Gearbox::Core::GBX_WORKER_ERROR;
our $WORKER_CONTINUE = $Gearbox::Core::GBX_WORKER_CONTINUE;
our $WORKER_RETRY    = $Gearbox::Core::GBX_WORKER_RETRY;

sub _TRACE { Gearbox::log( $Gearbox::LOG_DEBUG, @_ ) }
sub _DEBUG { Gearbox::log( $Gearbox::LOG_DEBUG, @_ ) }
sub _INFO  { Gearbox::log( $Gearbox::LOG_INFO,  @_ ) }
sub _WARN  { Gearbox::log( $Gearbox::LOG_WARN,  @_ ) }
sub _ERROR { Gearbox::log( $Gearbox::LOG_ERROR, @_ ) }
sub _FATAL { Gearbox::log( $Gearbox::LOG_ERROR, @_ ) }

# Gearbox's crude exporter: the result codes and the log functions.
sub import {
    my ($pkg) = caller;
    no strict 'refs';
    for my $code (qw(SUCCESS ERROR CONTINUE RETRY)) {
        *{"${pkg}::WORKER_$code"} = \${"Gearbox::Worker::WORKER_${code}"};
    }
    for my $f (qw(_TRACE _DEBUG _INFO _WARN _ERROR _FATAL)) {
        *{"${pkg}::$f"} = \&{"Gearbox::Worker::$f"};
    }
    return;
}

# new(CONFIG_FILE), new(\@ARGV) or new(@ARGV): loads the component config
# and opens the status store; connects to gearmand in run().  Given the
# program's arguments, the core picks the config out of them as every worker
# takes it: PROG CONFIG, PROG --config CONFIG or PROG --config=CONFIG.  The
# library's log goes to stderr unless Gearbox::log_to_file was called before.
sub new {
    my ( $class, @args ) = @_;
    my $given = @args == 1 && ref $args[0] eq 'ARRAY' ? [ $0, @{ $args[0] } ]
              : @args == 1 && defined $args[0]      ? "$args[0]"
              :                                       [ $0, map {"$_"} grep {defined} @args ];
    my $config = Gearbox::Core::gbx_config_path_from_args($given);
    Gearbox::log_to_file() unless $Gearbox::LOG_INSTALLED;
    my $w    = Gearbox::Core::gbx_worker_new("$config");
    my $self = bless { __gearbox => { w => $w, handlers => {}, config => "$config", max_requests => 0 } }, $class;
    my $hooks = [$self];
    weaken( $hooks->[0] );
    $self->{__gearbox}{hooks} = $hooks;
    Gearbox::Core::gbx_pl_worker_set_hooks( $w, $hooks );
    return $self;
}

sub _w {
    my $self = shift;
    return $self->{__gearbox}{w} if $self->{__gearbox} && $self->{__gearbox}{w};
    die ERR_INTERNAL_SERVER_ERROR->new( ref($self) . ": the worker was not made by Gearbox::Worker->new or is gone" );
}

sub _store { Gearbox::Core::gbx_worker_store( $_[0]->_w ) }

# register_handler(NAME[, CODE]): without CODE the method NAME is called; CODE
# may be a code ref or a method name.  Handlers get ($self, $job, $resp).
sub register_handler {
    my ( $self, $name, $code ) = @_;
    die ERR_BAD_REQUEST->new("register_handler needs a handler name") unless defined $name && length $name;
    my $call = defined $code ? $code : $name;
    if ( !ref $call ) {
        die ERR_NOT_FOUND->new( ref($self) . " has no method \"$call\" to handle $name" ) unless $self->can($call);
    }
    elsif ( ref $call ne 'CODE' ) {
        die ERR_BAD_REQUEST->new("the handler of $name must be a code ref or a method name");
    }
    my $entry = [ $self, $call, "$name" ];
    weaken( $entry->[0] );
    Gearbox::Core::gbx_pl_worker_register( $self->_w, "$name", $entry );
    $self->{__gearbox}{handlers}{$name} = $entry;
    return;
}

# set_retryable(NAME, FLAG): whether the job of handler NAME runs again when
# its worker dies in the middle of it (true, the default: at least once) or
# fails with 500 "worker died" (false: for handlers that must never run twice).
sub set_retryable {
    my ( $self, $name, $flag ) = @_;
    Gearbox::Core::gbx_worker_set_retryable( $self->_w, "$name", $flag ? 1 : 0 );
    return;
}

# Serves jobs until stop(), SIGTERM / SIGINT (unless the program has its own
# %SIG handler for them) or max_requests.
sub run {
    my $self = shift;
    Gearbox::Core::gbx_pl_worker_run( $self->_w, _default_signal('TERM'), _default_signal('INT') );
    return;
}

sub _default_signal {
    my $h = $SIG{ $_[0] };
    return ( !defined $h || $h eq '' || $h eq 'DEFAULT' ) ? 1 : 0;
}

# Serves at most one job, waiting up to TIMEOUT_MS (default 1000); true
# when one was served.
sub work_once {
    my ( $self, $timeout ) = @_;
    return Gearbox::Core::gbx_worker_work_once( $self->_w, defined $timeout ? int $timeout : 1000 );
}

# Makes run() return after the current job.
sub stop { Gearbox::Core::gbx_worker_stop( $_[0]->_w ); return }

# run() returns after N jobs (0 = never); max_requests() reads it.
sub max_requests {
    my $self = shift;
    return $self->{__gearbox}{max_requests} unless @_;
    my $n = shift;
    die ERR_BAD_REQUEST->new("max_requests needs a number >= 0") unless defined $n && $n =~ /^\d+$/;
    Gearbox::Core::gbx_worker_set_max_requests( $self->_w, $n );
    $self->{__gearbox}{max_requests} = 0 + $n;
    return;
}

sub request_count { Gearbox::Core::gbx_worker_request_count( $_[0]->_w ) }

# The component config (Gearbox::ConfigFile).
sub cfg { Gearbox::ConfigFile->_borrowed( Gearbox::Core::gbx_worker_config( $_[0]->_w ), $_[0] ) }

sub job_manager    { Gearbox::JobManager->new( $_[0] ) }
sub status_manager { Gearbox::StatusManager->new( $_[0] ) }

# Overridable; called around every handler call with the job.
sub pre_request  { return 0 }
sub post_request { return 0 }

# afterwards($job[, $name][, $delay]): once the current handler has
# returned (not if it failed), a copy of $job - renamed to $name if given -
# runs, $delay seconds later if > 0.  A copy of the current job shares its
# status: return $WORKER_CONTINUE to leave that open for it.
# afterwards($job, 5) is a delay without a name.
sub afterwards {
    my ( $self, $job, $name, $delay ) = @_;
    ( $name, $delay ) = ( undef, $name ) if !defined $delay && defined $name && $name =~ /^\d+(\.\d*)?$/;
    Gearbox::Core::gbx_worker_afterwards( $self->_w, $job->_p, defined $name ? "$name" : undef, 0 + ( $delay // 0 ) );
    return;
}

# Forgets what afterwards() queued during the current handler.
sub clear_afterwards { Gearbox::Core::gbx_worker_clear_afterwards( $_[0]->_w ); return }

# register_agents([$name]): serves $name (default do_run_global_agents_v1)
# with the built-in agents runner: content {"agents": [...], "content": ...};
# the agents run level after level as children of its status.
sub register_agents {
    my ( $self, $name ) = @_;
    $name //= 'do_run_global_agents_v1';
    Gearbox::Core::gbx_worker_register_agents( $self->_w, "$name" );
    return;
}

sub DESTROY {
    my $self = shift;
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    my $g = $self->{__gearbox} or return;
    Gearbox::Core::gbx_worker_free( delete $g->{w} ) if $g->{w};
}

1;
