# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Gearbox::StopWatch - Gearbox's stopwatch, on the core's monotonic clock
# (gearbox/stopwatch.h).
#
#   my $sw = Gearbox::StopWatch->new;   # or: new Gearbox::StopWatch
#   $sw->start;
#   ...
#   my $seconds = $sw->stop;            # also $sw->elapsed, $sw->running
#   Gearbox::Scoreboard::get_scoreboard()->update_duration_hours( 'status', 'mine', 'duration_success', $sw );
package Gearbox::StopWatch;

use strict;
use warnings;

use Gearbox::Core ();

sub new {
    my ($class) = @_;
    my $sw = Gearbox::Core::gbx_stopwatch_new();
    return bless { sw => $sw }, ref $class || $class;
}

sub DESTROY {
    my ($self) = @_;
    Gearbox::Core::gbx_stopwatch_free( delete $self->{sw} ) if $self->{sw};
}

# Starts timing from zero (a running stopwatch restarts).
sub start { Gearbox::Core::gbx_stopwatch_start( $_[0]{sw} ); return }

# Stops timing; the seconds between start and stop.
sub stop { Gearbox::Core::gbx_stopwatch_stop( $_[0]{sw} ) }

# Seconds between start and stop, or until now while it runs.
sub elapsed { Gearbox::Core::gbx_stopwatch_elapsed( $_[0]{sw} ) }

sub running { Gearbox::Core::gbx_stopwatch_running( $_[0]{sw} ) ? 1 : 0 }

# The C handle (for Gearbox::Scoreboard).
sub _sw { $_[0]{sw} }

1;
