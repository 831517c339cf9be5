# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Gearbox - Perl binding of libgearbox, with the names of Yahoo's Gearbox.
#
#   use Gearbox::Worker;            # Gearbox::Worker, $WORKER_SUCCESS, ...
#   use base 'Gearbox::Worker';
#
# `use Gearbox;` loads every class: Gearbox::Job, Gearbox::JobResponse,
# Gearbox::Status, Gearbox::JobManager, Gearbox::JobQueue, Gearbox::StatusManager,
# Gearbox::ConfigFile, Gearbox::StopWatch, Gearbox::Scoreboard, the ERR_<NAME>
# exceptions (Gearbox::Errors) and the
# constants $Gearbox::HttpClient::METHOD_GET ... on their classes.  The flat
# C functions are in Gearbox::Core (SWIG).  See docs/perl.md.
package Gearbox;

use strict;
use warnings;

our $VERSION = '0.1.0';

use Gearbox::Core ();
use Gearbox::Errors ();
use Gearbox::ConfigFile ();
use Gearbox::Status ();
use Gearbox::Job ();
use Gearbox::JobResponse ();
use Gearbox::StatusManager ();
use Gearbox::JobQueue ();
use Gearbox::JobManager ();
use Gearbox::StopWatch ();
use Gearbox::Scoreboard ();

# Log levels of gbx_log.
our ( $LOG_DEBUG, $LOG_INFO, $LOG_WARN, $LOG_ERROR ) = ( 0, 1, 2, 3 );

our $LOG_INSTALLED = 0;

# Sends the library's log to FILE (appended), or to stderr without one.
sub log_to_file {
    shift if @_ && defined $_[0] && $_[0] eq __PACKAGE__;
    my ($path) = @_;
    Gearbox::Core::gbx_pl_log_to_file( defined $path ? "$path" : undef );
    $LOG_INSTALLED = 1;
    return;
}

# Lines below LEVEL ("debug", "info", "warn", "error") are dropped.
sub log_level {
    shift if @_ && defined $_[0] && $_[0] eq __PACKAGE__;
    my ($level) = @_;
    return Gearbox::Core::gbx_log_level_name( Gearbox::Core::gbx_log_get_level() ) unless defined $level;
    my $n = $level =~ /^\d+$/ ? $level : Gearbox::Core::gbx_log_level_from_name($level);
    die ERR_BAD_REQUEST->new("unknown log level \"$level\"") if $n < 0 || $n > 3;
    Gearbox::Core::gbx_log_set_level($n);
    return;
}

# One log line through the library's log.
sub log {
    shift if @_ && defined $_[0] && $_[0] eq __PACKAGE__;
    my ( $level, @msg ) = @_;
    Gearbox::Core::gbx_pl_log( $level, join( '', map { defined $_ ? $_ : '' } @msg ) );
    return;
}

package Gearbox::HttpClient;

# HTTP methods of JobManager->job($method, $uri), numbered as in Gearbox.
our ( $METHOD_GET, $METHOD_DELETE, $METHOD_POST, $METHOD_PUT, $METHOD_HEAD, $METHOD_UNKNOWN ) = ( 0 .. 5 );
sub METHOD_GET     () { 0 }
sub METHOD_DELETE  () { 1 }
sub METHOD_POST    () { 2 }
sub METHOD_PUT     () { 3 }
sub METHOD_HEAD    () { 4 }
sub METHOD_UNKNOWN () { 5 }

1;
