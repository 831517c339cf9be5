# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Gearbox::ConfigFile - a loaded config (JSON with comments, ${VAR}
# expansion, config.d sections), with Gearbox's getters.  Keys are dotted
# paths ("barn.state_dir") or (section, key) pairs as in Gearbox.
package Gearbox::ConfigFile;

use strict;
use warnings;

use Gearbox::Core ();
use Gearbox::Errors ();

sub new {
    my ( $class, $path ) = @_;
    die ERR_BAD_REQUEST->new("Gearbox::ConfigFile->new needs a file") unless defined $path && length $path;
    my $cfg = Gearbox::Core::gbx_config_load("$path");
    return bless { ptr => $cfg, owned => 1 }, $class;
}

# A config made from Perl data (a hashref; BASE_DIR resolves relative
# paths): Gearbox::ConfigFile->from_data({...}[, BASE_DIR]).
sub from_data {
    my ( $class, $data, $base_dir ) = @_;
    my $cfg = Gearbox::Core::gbx_config_from_json( $data // {}, $base_dir );
    return bless { ptr => $cfg, owned => 1 }, $class;
}

# A config that belongs to `owner` (a worker); kept alive through it.
sub _borrowed {
    my ( $class, $ptr, $owner ) = @_;
    return bless { ptr => $ptr, owner => $owner }, $class;
}

sub _p { $_[0]{ptr} or die ERR_INTERNAL_SERVER_ERROR->new("Gearbox::ConfigFile has been freed") }

sub _key { return @_ > 1 ? "$_[0].$_[1]" : $_[0] }

# The value at KEY as Perl data (undef if missing).
sub get_json {
    my $self = shift;
    return Gearbox::Core::gbx_config_get( $self->_p, _key(@_) );
}

sub get_string {
    my $self = shift;
    return Gearbox::Core::gbx_config_get_string( $self->_p, _key(@_), '' );
}

sub get_string_default {
    my $self = shift;
    my $dflt = pop;
    return Gearbox::Core::gbx_config_get_string( $self->_p, _key(@_), $dflt );
}

sub get_int {
    my $self = shift;
    return Gearbox::Core::gbx_config_get_int( $self->_p, _key(@_), 0 );
}

sub get_int_default {
    my $self = shift;
    my $dflt = pop;
    return Gearbox::Core::gbx_config_get_int( $self->_p, _key(@_), $dflt );
}

sub get_real {
    my ( $self, $key, $dflt ) = @_;
    return Gearbox::Core::gbx_config_get_real( $self->_p, $key, defined $dflt ? $dflt : 0 );
}

sub get_bool {
    my ( $self, $key, $dflt ) = @_;
    return Gearbox::Core::gbx_config_get_bool( $self->_p, $key, $dflt ? 1 : 0 ) ? 1 : 0;
}

# A path, resolved against the config file's directory when relative.
sub get_path {
    my ( $self, $key, $dflt ) = @_;
    return Gearbox::Core::gbx_config_get_path( $self->_p, $key, $dflt );
}

# The whole merged document as Perl data.
sub as_json { Gearbox::Core::gbx_config_root( $_[0]->_p ) }

# The directory of the config file.
sub dir { Gearbox::Core::gbx_config_dir( $_[0]->_p ) }

sub DESTROY {
    my $self = shift;
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    Gearbox::Core::gbx_config_free( delete $self->{ptr} ) if $self->{owned} && $self->{ptr};
}

1;
