# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Gearbox::JobQueue - agents levelled by dependency ($jm->job_queue):
# as in Gearbox, an arrayref of levels, each an arrayref of the
# Gearbox::Job objects that run in parallel.  It is plain Perl data (the
# jobs are the caller's own): push onto a level, add, remove or reorder
# levels, then $jm->job_queue_run($queue) runs what it holds then.
package Gearbox::JobQueue;

use strict;
use warnings;

sub _new {
    my ( $class, @levels ) = @_;
    return bless [@levels], $class;
}

sub levels { scalar @{ $_[0] } }

# Every job, level after level.
sub jobs { map {@$_} @{ $_[0] } }

# Reverses the order of the levels (undo in reverse).
sub reverse {
    my $self = shift;
    @$self = CORE::reverse @$self;
    return $self;
}

1;
