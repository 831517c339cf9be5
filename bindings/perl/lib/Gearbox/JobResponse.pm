# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Gearbox::JobResponse - what a handler answers: content, headers, code;
# status() is the job's status (store-backed for async jobs, a throw-away
# in-memory one for sync ones).  The response a handler receives is valid during the call.
package Gearbox::JobResponse;

use strict;
use warnings;

use Gearbox::Core ();
use Gearbox::Errors ();

# An empty response of one's own (code 0, no headers, content "").
sub new {
    my $class = shift;
    return bless { ptr => Gearbox::Core::gbx_response_new(), owned => 1 }, $class;
}

sub _p {
    my $self = shift;
    return $self->{ptr} if $self->{ptr};
    die ERR_INTERNAL_SERVER_ERROR->new(
        "Gearbox::JobResponse used after its handler returned: a handler's job, response and status are only valid during the call");
}

# content() -> bytes; content($bytes) sets the body (character strings are
# sent as UTF-8).
sub content {
    my $self = shift;
    return Gearbox::Core::gbx_response_content( $self->_p ) unless @_;
    my $c = shift;
    Gearbox::Core::gbx_response_set_content( $self->_p, defined $c ? $c : '' );
    return;
}

sub add_header {
    my ( $self, $name, $value ) = @_;
    Gearbox::Core::gbx_response_add_header( $self->_p, "$name", defined $value ? "$value" : '' );
    return;
}

# headers() -> hashref; headers(\%h) adds or replaces each of them.
sub headers {
    my $self = shift;
    return Gearbox::Core::gbx_response_headers( $self->_p ) unless @_;
    my $h = shift;
    $self->add_header( $_, $h->{$_} ) for sort keys %$h;
    return;
}

# code() -> the HTTP code (0 = 200); code(N) sets it.
sub code {
    my $self = shift;
    return Gearbox::Core::gbx_response_code( $self->_p ) unless @_;
    Gearbox::Core::gbx_response_set_code( $self->_p, int shift );
    return;
}

# A handler's response: its job's status; for a sync job the worker's
# throw-away status (id "st-...", in memory, never stored), as Gearbox's
# transient one.  The answer of a run job: the started job's status (read
# again; local or remote), undef without one.
sub status {
    my $self = shift;
    die ERR_METHOD_NOT_ALLOWED->new("a handler's response reports to its job's status; it cannot be replaced") if @_;
    my $ptr = $self->_p;
    if ( $self->{jm} ) {
        my $uri = $self->status_uri;
        return defined $uri && length $uri ? $self->{jm}->status($uri) : undef;
    }
    my $job = $self->{job} or return undef;
    my $local = Gearbox::Core::gbx_response_status($ptr) or return $job->_status_obj;
    # Cached on the job, so that it ends with the handler's call as the job does.
    return $job->{_status} ||= Gearbox::Status->_wrap( $local, borrowed => 1, store_owner => $job->{worker} );
}

# The status_uri of the async job this answers (202), or undef.
sub status_uri { Gearbox::Core::gbx_response_status_uri( $_[0]->_p ) }

# The answer of a job run by JM (owned).
sub _answer {
    my ( $class, $ptr, $jm ) = @_;
    return bless { ptr => $ptr, owned => 1, jm => $jm }, $class;
}

# The body parsed as JSON (undef when empty).
sub json_content {
    my $c = $_[0]->content;
    return defined $c && length $c ? Gearbox::Core::gbx_json_parse($c) : undef;
}

sub job { $_[0]->_p; $_[0]{job} }

# The wire form a sync reply takes.
sub serialize { Gearbox::Core::gbx_response_serialize( $_[0]->_p ) }

sub DESTROY {
    my $self = shift;
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    Gearbox::Core::gbx_response_free( delete $self->{ptr} ) if $self->{owned} && $self->{ptr};
}

1;
