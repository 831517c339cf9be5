# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Gearbox::Scoreboard - Gearbox's scoreboard: per-component worker metrics
# (counters and durations) kept in memory by the core, one scoreboard per
# component, thread-safe (gearbox/scoreboard.h, docs/worker.md).
#
#   Gearbox::Scoreboard::initialize( $resp->status->component );   # or ->initialize(...)
#   my $sb = Gearbox::Scoreboard::get_scoreboard();                 # or ->get_scoreboard
#   $sb->increment_counter( 'status', 'mine' );
#   $sb->update_duration_hours( 'status', 'mine', 'duration_success', $stopwatch );
#   my $all = Gearbox::Scoreboard::snapshot();   # { components => { name => { counters, durations } } }
package Gearbox::Scoreboard;

use strict;
use warnings;

use Gearbox::Core ();
use Gearbox::StopWatch ();

# Called as a function or as a class method.
sub _args { shift if @_ && defined $_[0] && !ref $_[0] && $_[0] eq __PACKAGE__; return @_ }

# Makes COMPONENT's scoreboard the current one; returns it.
sub initialize {
    my ($component) = _args(@_);
    Gearbox::Core::gbx_scoreboard_initialize( defined $component ? "$component" : undef );
    return bless { component => "$component" }, __PACKAGE__;
}

# The current scoreboard (dies ERR_PRECONDITION_FAILED before initialize).
sub get_scoreboard {
    _args(@_);
    return bless { component => Gearbox::Core::gbx_scoreboard_component() }, __PACKAGE__;
}

# Every scoreboard of the process, as Perl data.
sub snapshot {
    _args(@_);
    return JSON::PP->new->decode( Gearbox::Core::gbx_scoreboard_snapshot() );
}

sub component { $_[0]{component} }

# Adds 1 to counter NAME of GROUP.
sub increment_counter {
    my ( $self, $group, $name ) = @_;
    Gearbox::Core::gbx_scoreboard_increment_counter( $self->{component}, "$group", "$name" );
    return;
}

# Adds N (may be negative); returns the new value.
sub add_counter {
    my ( $self, $group, $name, $n ) = @_;
    return Gearbox::Core::gbx_scoreboard_add_counter( $self->{component}, "$group", "$name", 0 + $n );
}

# The value of counter NAME of GROUP (0 if never counted).
sub counter {
    my ( $self, $group, $name ) = @_;
    return Gearbox::Core::gbx_scoreboard_counter( $self->{component}, "$group", "$name" );
}

# Records the stopwatch's reading as one sample of duration METRIC of
# (GROUP, NAME): count, total, min, max, and per UTC hour.
sub update_duration_hours {
    my ( $self, $group, $name, $metric, $sw ) = @_;
    die ERR_BAD_REQUEST->new('update_duration_hours needs a Gearbox::StopWatch')
        unless ref $sw && $sw->isa('Gearbox::StopWatch');
    Gearbox::Core::gbx_scoreboard_update_duration_hours( $self->{component}, "$group", "$name", "$metric", $sw->_sw );
    return;
}

# The same with a number of seconds.
sub update_duration {
    my ( $self, $group, $name, $metric, $seconds ) = @_;
    Gearbox::Core::gbx_scoreboard_update_duration( $self->{component}, "$group", "$name", "$metric", 0 + $seconds );
    return;
}

1;
