# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Gearbox::StatusManager - creates and fetches statuses in the status store.
#   $worker->status_manager              the worker's store
#   Gearbox::StatusManager->new($config) the store of a config file's "status"
package Gearbox::StatusManager;

use strict;
use warnings;

use Scalar::Util qw(blessed);

use Gearbox::Core ();
use Gearbox::Errors ();
use Gearbox::Status ();

sub new {
    my ( $class, $from ) = @_;
    if ( blessed $from && $from->can('_store') ) {
        return bless { owner => $from }, $class;
    }
    die ERR_BAD_REQUEST->new("Gearbox::StatusManager->new needs a worker or a config file") unless defined $from;
    my $cfg = blessed $from && $from->isa('Gearbox::ConfigFile') ? $from : Gearbox::ConfigFile->new("$from");
    my $section = $cfg->get_json('status')
        or die ERR_INTERNAL_SERVER_ERROR->new("config has no \"status\" section");
    my $store = Gearbox::Core::gbx_store_open( $section, $cfg->dir );
    return bless { store => $store, cfg => $cfg }, $class;
}

# A Gearbox::JobManager over this store (the worker's own for a worker's):
# what cancel() and remote statuses of the statuses made here go through.
sub job_manager {
    my $self = shift;
    return $self->{owner}->job_manager if $self->{owner} && $self->{owner}->can('job_manager');
    return Gearbox::JobManager->_over( $self->{cfg}, $self->{store}, $self );
}

sub _store {
    my $self = shift;
    return $self->{store} || $self->{owner}->_store;
}

# Statuses created here get status_uri = BASE/status/<id>.
sub base_uri {
    my $self = shift;
    $self->{base_uri} = shift if @_;
    return $self->{base_uri};
}

# create(NAME, OPERATION[, RESOURCE_URI[, COMPONENT]]) as in Gearbox (NAME
# undef = a generated id); create(%spec) with id, operation, component,
# uri, status_base, parent_uri, envelope, scope.
sub create {
    my $self = shift;
    my %spec;
    if ( @_ && defined $_[0] && $_[0] =~ /^(id|operation|component|uri|status_base|parent_uri|envelope|scope)$/ && @_ % 2 == 0 ) {
        %spec = @_;
    }
    else {
        my ( $name, $operation, $uri, $component ) = @_;
        %spec = ( id => $name, operation => $operation, uri => ( defined $uri && length $uri ? $uri : undef ),
            component => defined $component ? $component : 'internal' );
    }
    $spec{status_base} = "$self->{base_uri}/status" if !defined $spec{status_base} && defined $self->{base_uri};
    my $ptr = Gearbox::Core::gbx_pl_status_create( $self->_store,
        @spec{qw(id operation component uri status_base parent_uri envelope scope)} );
    return Gearbox::Status->_wrap( $ptr, owned => 1, store_owner => $self );
}

# fetch(ID | URI | $job | {status object}) -> Gearbox::Status.
sub fetch {
    my ( $self, $what ) = @_;
    my $id = blessed $what && $what->isa('Gearbox::Job') ? $what->status
           : ref $what eq 'HASH' ? ( $what->{status_uri} // $what->{name} // '' )
           : $what;
    die ERR_BAD_REQUEST->new("fetch needs a status id or uri") unless defined $id && length $id;
    my $ptr = Gearbox::Core::gbx_status_fetch( $self->_store, "$id" );
    return Gearbox::Status->_wrap( $ptr, owned => 1, store_owner => $self );
}

# Ids of matching statuses, newest first.  Filters: uri (substring), state,
# operation, component, scope, code, progress, count.
sub list {
    my ( $self, %f ) = @_;
    return Gearbox::Core::gbx_pl_status_list( $self->_store, @f{qw(uri state operation component scope)},
        map { defined $_ ? int $_ : -1 } @f{qw(code progress)}, int( $f{count} // 0 ) );
}

# The same as Gearbox::Status objects.
sub collection {
    my ( $self, %f ) = @_;
    return [ map { $self->fetch($_) } @{ $self->list(%f) } ];
}

sub DESTROY {
    my $self = shift;
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    Gearbox::Core::gbx_store_free( delete $self->{store} ) if $self->{store};
}

1;
