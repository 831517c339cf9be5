# Gearbox::JobQueue - agents levelled by dependency ($jm->job_queue):
# as in Gearbox, an arrayref of levels, each an arrayref of the
# Gearbox::Job objects that run in parallel.  The C queue (gbx_job_queue)
# owns the jobs; every job and the queue keep it alive.
package Gearbox::JobQueue;

use strict;
use warnings;

use Hash::Util::FieldHash qw(fieldhash);

use Gearbox::Core ();
use Gearbox::Errors ();
use Gearbox::Job ();

fieldhash my %GUARD;    # queue arrayref -> its Gearbox::JobQueue::_Guard

sub _new {
    my ( $class, $jm, $agents ) = @_;
    my $guard = bless { ptr => Gearbox::Core::gbx_jobmanager_job_queue( $jm->_p, $agents ), jm => $jm },
        'Gearbox::JobQueue::_Guard';
    my $self = bless [], $class;
    $GUARD{$self} = $guard;
    $self->_fill;
    return $self;
}

# (Re)builds the levels from the C queue.
sub _fill {
    my $self  = shift;
    my $guard = $GUARD{$self};
    my $q     = $guard->{ptr};
    @$self = ();
    for my $k ( 0 .. Gearbox::Core::gbx_job_queue_levels($q) - 1 ) {
        push @$self, [ map { Gearbox::Job->_made( Gearbox::Core::gbx_job_queue_job( $q, $k, $_ ), $guard->{jm}, $guard ) }
                0 .. Gearbox::Core::gbx_job_queue_level_size( $q, $k ) - 1 ];
    }
    return;
}

sub _ptr_of {
    my $queue = shift;
    my $guard = ref $queue ? $GUARD{$queue} : undef;
    die ERR_BAD_REQUEST->new("job_queue_run needs a queue made by JobManager->job_queue") unless $guard;
    return $guard->{ptr};
}

# The Gearbox::JobManager that made the queue.
sub _jm_of {
    _ptr_of( $_[0] );
    return $GUARD{ $_[0] }{jm};
}

sub levels { scalar @{ $_[0] } }

# Every job, level after level.
sub jobs { map {@$_} @{ $_[0] } }

# Reverses the order of the levels (undo in reverse).
sub reverse {
    my $self = shift;
    Gearbox::Core::gbx_job_queue_reverse( _ptr_of($self) );
    $self->_fill;
    return $self;
}

package Gearbox::JobQueue::_Guard;

sub DESTROY {
    my $self = shift;
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    Gearbox::Core::gbx_job_queue_free( delete $self->{ptr} ) if $self->{ptr};
}

1;
