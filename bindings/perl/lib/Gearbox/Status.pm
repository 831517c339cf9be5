# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Gearbox::Status - the status of an async job (DESIGN §3), written through
# to the status store on every change.  A handler gets its job's status from
# $resp->status() (valid during the call); Gearbox::StatusManager fetches
# and creates others.  Constants as in Gearbox: $Gearbox::Status::STATE_*,
# $Gearbox::Status::EVENT_PRECANCEL / EVENT_CANCEL.
package Gearbox::Status;

use strict;
use warnings;

use Gearbox::Core ();
use Gearbox::Errors ();

# The numbers and names come from the core (numbered as Gearbox did).
our ( $STATE_UNKNOWN, $STATE_PENDING, $STATE_RUNNING, $STATE_STOPPING, $STATE_STOPPED,
    $STATE_CANCELLING, $STATE_CANCELLED, $STATE_COMPLETED, $EVENT_UNKNOWN, $EVENT_PRECANCEL,
    $EVENT_CANCEL );
my @STATE_NAMES = map { Gearbox::Core::gbx_state_name($_) } 0 .. $Gearbox::Core::GBX_STATE_COMPLETED;
my %STATE_NUMBER = map { $STATE_NAMES[$_] => $_ } 0 .. $#STATE_NAMES;
{
    no strict 'refs';
    for my $i ( 0 .. $#STATE_NAMES ) {
        my $n = $i;
        ${"STATE_$STATE_NAMES[$i]"} = $n;
        *{"STATE_$STATE_NAMES[$i]"} = sub () { $n };
    }
    for my $i ( 0 .. $Gearbox::Core::GBX_STATUS_EVENT_CANCEL ) {
        my $n = $i;
        my $name = Gearbox::Core::gbx_status_event_name($i);
        ${"EVENT_$name"} = $n;
        *{"EVENT_$name"} = sub () { $n };
    }
}

# "PENDING" for $STATE_PENDING and back (Gearbox's state2str / str2state).
sub state2str { my $s = pop; return defined $STATE_NAMES[$s] ? $STATE_NAMES[$s] : 'UNKNOWN' }
sub str2state { my $s = pop; return $STATE_NUMBER{ uc $s } || 0 }

# Wraps a gbx_status pointer.  %opt: owned => 1 (freed with the object),
# store_owner => an object with _store (kept alive), borrowed => 1,
# jm => the Gearbox::JobManager its orchestration calls go through (else
# the store owner's), job => a job kept alive (its status handle).
sub _wrap {
    my ( $class, $ptr, %opt ) = @_;
    return bless { ptr => $ptr, %opt }, $class;
}

sub _p {
    my $self = shift;
    return $self->{ptr} if $self->{ptr};
    die ERR_INTERNAL_SERVER_ERROR->new(
        "Gearbox::Status used after its handler returned: a handler's job, response and status are only valid during the call");
}

# The job manager for cancel, parent and remote statuses.
sub _jm {
    my $self = shift;
    return $self->{jm} if $self->{jm};
    my $owner = $self->{store_owner};
    return $owner if $owner && $owner->isa('Gearbox::JobManager');
    return $owner->job_manager if $owner && $owner->can('job_manager');
    die ERR_INTERNAL_SERVER_ERROR->new("this status has no job manager");
}

# What cancel() names: the id, or the URI of a remote status.
sub _target { $_[0]->is_remote ? $_[0]->uri : $_[0]->name }

sub _str { my $v = shift; return defined $v ? $v : '' }

sub name         { _str( Gearbox::Core::gbx_status_id( $_[0]->_p ) ) }
sub uri          { _str( Gearbox::Core::gbx_status_status_uri( $_[0]->_p ) ) }
sub resource_uri { _str( Gearbox::Core::gbx_status_uri( $_[0]->_p ) ) }
sub operation    { _str( Gearbox::Core::gbx_status_operation( $_[0]->_p ) ) }
sub component    { _str( Gearbox::Core::gbx_status_component( $_[0]->_p ) ) }
sub scope        { _str( Gearbox::Core::gbx_status_scope( $_[0]->_p ) ) }
sub code         { Gearbox::Core::gbx_status_code( $_[0]->_p ) }
sub concurrency  { Gearbox::Core::gbx_status_concurrency( $_[0]->_p ) }
sub ctime        { Gearbox::Core::gbx_status_ctime( $_[0]->_p ) }
sub mtime        { Gearbox::Core::gbx_status_mtime( $_[0]->_p ) }
sub messages     { Gearbox::Core::gbx_status_messages( $_[0]->_p ) }
sub children     { Gearbox::Core::gbx_status_children( $_[0]->_p ) }
sub has_completed { Gearbox::Core::gbx_status_has_completed( $_[0]->_p ) ? 1 : 0 }
sub is_success    { Gearbox::Core::gbx_status_is_success( $_[0]->_p ) ? 1 : 0 }

# progress() reads, progress(N) raises it (a lower value is ignored).
sub progress {
    my $self = shift;
    return Gearbox::Core::gbx_status_progress_value( $self->_p ) unless @_;
    Gearbox::Core::gbx_status_set_progress( $self->_p, int shift );
    return;
}

sub add_message {
    my ( $self, $msg ) = @_;
    Gearbox::Core::gbx_status_add_message( $self->_p, defined $msg ? "$msg" : '' );
    return;
}

sub add_child {
    my ( $self, $child ) = @_;
    $child = $child->uri if ref $child && eval { $child->isa('Gearbox::Status') };
    Gearbox::Core::gbx_status_add_child( $self->_p, "$child" );
    return;
}

# meta() -> hashref; meta(KEY) -> value; meta(KEY, VALUE) sets (undef
# deletes); meta(\%all) sets every key.
sub meta {
    my $self = shift;
    return Gearbox::Core::gbx_status_meta( $self->_p ) unless @_;
    if ( @_ == 1 && ref $_[0] eq 'HASH' ) {
        Gearbox::Core::gbx_status_set_meta( $self->_p, $_, $_[0]{$_} ) for sort keys %{ $_[0] };
        return;
    }
    return Gearbox::Core::gbx_status_meta( $self->_p )->{ $_[0] } if @_ == 1;
    my ( $key, $value ) = @_;
    Gearbox::Core::gbx_status_set_meta( $self->_p, "$key", $value );
    return;
}

sub success { Gearbox::Core::gbx_status_success( $_[0]->_p ); return }

# fail(CODE[, MESSAGE]): completes the status with that code.
sub fail {
    my ( $self, $code, $msg ) = @_;
    Gearbox::Core::gbx_status_fail( $self->_p, int( defined $code ? $code : 500 ), $msg );
    return;
}

# state() -> $STATE_*; state($STATE_X or "X") moves there if allowed and
# returns 1, or 0 when the state machine forbids it (as Gearbox did).
sub state {
    my $self = shift;
    return $STATE_NUMBER{ Gearbox::Core::gbx_state_name( Gearbox::Core::gbx_status_state( $self->_p ) ) } || 0
        unless @_;
    my $want = shift;
    my $name = $want =~ /^\d+$/ ? $STATE_NAMES[$want] : uc $want;
    my $c = defined $name ? Gearbox::Core::gbx_state_from_name($name) : -1;
    die ERR_BAD_REQUEST->new("unknown state \"$want\"") if $c < 0;
    my $ok = eval { Gearbox::Core::gbx_status_set_state( $self->_p, $c ); 1 };
    return 1 if $ok;
    return 0 if ref $@ && $@->isa('ERR_CONFLICT');
    die $@;
}

sub failures {
    my $self = shift;
    if (@_) {
        my $want = shift;
        Gearbox::Core::gbx_status_add_failure( $self->_p )
            while Gearbox::Core::gbx_status_failures( $self->_p ) < $want;
        return;
    }
    return Gearbox::Core::gbx_status_failures( $self->_p );
}

sub ytime {
    my $self = shift;
    return Gearbox::Core::gbx_status_ytime( $self->_p ) unless @_;
    Gearbox::Core::gbx_status_set_ytime( $self->_p, 0 + shift );
    return;
}

# Re-reads the status from the store.
sub sync { Gearbox::Core::gbx_status_refresh( $_[0]->_p ); return }

# The status object of DESIGN §3 as Perl data, and as JSON text.
sub as_json   { Gearbox::Core::gbx_status_to_json( $_[0]->_p ) }
sub serialize { Gearbox::Core::gbx_json_dump( $_[0]->as_json ) }

# The worker core keeps concurrency right; these are Gearbox's names for it.
sub starting { Gearbox::Core::gbx_status_add_concurrency( $_[0]->_p, 1 );  return }
sub stopping { Gearbox::Core::gbx_status_add_concurrency( $_[0]->_p, -1 ); return }

sub parent_uri {
    my $self = shift;
    die ERR_METHOD_NOT_ALLOWED->new("the parent of a status is set when it is created") if @_;
    return _str( Gearbox::Core::gbx_status_parent_uri( $self->_p ) );
}

# The parent status (a Gearbox::Status; a remote one when it lives in
# another service), or undef without one.
sub parent {
    my $self = shift;
    my $uri  = Gearbox::Core::gbx_status_parent_uri( $self->_p );
    return undef unless defined $uri && length $uri;
    return $self->_jm->status($uri);
}

# Re-reads the status and dies with ERR_GONE when the job is being stopped
# or cancelled: let it leave the handler, the job then stops (410) and the
# cancellation goes on.
sub checkpoint { Gearbox::Core::gbx_status_checkpoint( $_[0]->_p ); return }

# Cancels the job of this status (stop, children, PRECANCEL / CANCEL jobs);
# returns the cancel operation's own status.  ERR_CONFLICT while it is
# stopping or being cancelled already.
sub cancel { $_[0]->_jm->cancel( $_[0]->_target ) }

# on($Gearbox::Status::EVENT_PRECANCEL | EVENT_CANCEL, $job): $job runs
# before a cancellation (failing vetoes it) / as its compensation; undef
# removes it.
sub on {
    my ( $self, $event, $job ) = @_;
    $event = Gearbox::Core::gbx_status_event_from_name( uc $event ) unless $event =~ /^\d+$/;
    Gearbox::Core::gbx_status_on( $self->_p, $event, $job ? Gearbox::Core::gbx_job_envelope( $job->_p ) : undef );
    return;
}

# The event jobs {PRECANCEL => {name, envelope}, CANCEL => {...}}.
sub events { Gearbox::Core::gbx_status_events( $_[0]->_p ) }

# True for a status of another service, read over HTTP (read-only).
sub is_remote { Gearbox::Core::gbx_status_is_remote( $_[0]->_p ) ? 1 : 0 }

# transition(FROM, TO): moves only if the status is in FROM (ERR_CONFLICT
# otherwise).
sub transition {
    my ( $self, $from, $to ) = @_;
    $_ = $_ =~ /^\d+$/ ? $_ : str2state($_) for $from, $to;
    Gearbox::Core::gbx_status_transition( $self->_p, $from, $to );
    return;
}

# counter_add(NAME[, DELTA]): adds DELTA (1) to a counter kept in the store;
# the new value.
sub counter_add {
    my ( $self, $name, $delta ) = @_;
    return Gearbox::Core::gbx_status_counter_add( $self->_p, "$name", defined $delta ? int $delta : 1 );
}

# wait([TIMEOUT]): until the status has completed.
sub wait { my ( $self, $timeout ) = @_; $self->_jm->wait( $self, $timeout ); return }

# 'transient' for a sync handler's throw-away status (as Gearbox), else 'store'.
sub impltype { Gearbox::Core::gbx_status_is_local( $_[0]->_p ) ? 'transient' : 'store' }

sub DESTROY {
    my $self = shift;
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    Gearbox::Core::gbx_status_free( delete $self->{ptr} ) if $self->{owned} && $self->{ptr};
}

1;
