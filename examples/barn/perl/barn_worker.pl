#!/usr/bin/perl
# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# barn_worker.pl - the barn example service's worker in Perl (component
# barnperl), behaving exactly like the C barn (examples/barn/c/barn.c):
# same routes, messages, errors, validation and spider progress.
#
# The barn keeps animals as JSON files, <state_dir>/animals/<name>.json:
#   GET    /perl/barn/v1/animal          -> {"animals": [names]}           (sync)
#   GET    /perl/barn/v1/animal/<name>   -> the animal, or 404             (sync)
#   PUT    /perl/barn/v1/animal/<name>   -> create or replace it           (async)
#   POST   /perl/barn/v1/animal          -> create under a generated name  (async)
#   POST   /perl/barn/v1/animal/<name>   -> update some fields, or 404     (async)
#   DELETE /perl/barn/v1/animal/<name>   -> remove it, or 404              (async)
# Afterwards every created or updated animal goes to work: a pig rolls in
# the mud, a spider ("species": "Araneus cavaticus") spins a web for a few
# seconds and reports its progress.
use strict;
use warnings;

# In the build tree (no install): the binding's modules next to this file
# and the SWIG module in $GEARBOX_BUILD_DIR.
BEGIN {
    require FindBin;
    my @dirs = ("$FindBin::RealBin/../../../bindings/perl/lib");
    unshift @dirs, "$ENV{GEARBOX_BUILD_DIR}/bindings/perl/lib" if $ENV{GEARBOX_BUILD_DIR};
    unshift @INC, grep { -d } @dirs;
}

package BarnWorker;

use Errno qw(ENOENT);
use Fcntl qw(O_WRONLY);
use File::Temp ();
use IO::Handle ();
use Time::HiRes ();

use Gearbox::Worker;
use base 'Gearbox::Worker';

use constant NAME_MAX_LEN    => 64;
use constant DEFAULT_SPECIES => 'Sus domestica';
use constant SPIDER_SPECIES  => 'Araneus cavaticus';

my @WORDS = ( 'SOME PIG', 'TERRIFIC', 'RADIANT', 'HUMBLE' );

sub new {
    my ( $class, $config ) = @_;
    my $self = $class->SUPER::new($config);
    my $cfg  = $self->cfg;
    my $state_dir = $cfg->get_path( 'barn.state_dir', 'state/barn' );
    $self->{animals_dir} = "$state_dir/animals";
    $self->{web_seconds} = $cfg->get_real( 'barn.web_seconds', 4.0 );
    mkdirs( $self->{animals_dir} );
    $self->register_handler('do_get_barnperl_animal_v1');
    $self->register_handler('do_put_barnperl_animal_v1');
    $self->register_handler('do_post_barnperl_animal_v1');
    $self->register_handler('do_delete_barnperl_animal_v1');
    return $self;
}

sub mkdirs {
    my $path = shift;
    my $so_far = '';
    for my $part ( split m{/}, $path ) {
        $so_far .= length $so_far || $path =~ m{^/} ? "/$part" : $part;
        next if $part eq '' || -d $so_far;
        mkdir $so_far, 0755 or $!{EEXIST} or die "cannot create $path: $!\n";
    }
}

# ---- storage ------------------------------------------------------------

# Names become file names: [A-Za-z0-9._-], not starting with a dot, at most
# NAME_MAX_LEN characters; so no name can leave the animals directory.
sub check_name {
    my $name = shift;
    die ERR_BAD_REQUEST->new('the URL must name the animal: /barn/v1/animal/<name>')
        unless defined $name && length $name;
    die ERR_BAD_REQUEST->new( 'invalid animal name: longer than ' . NAME_MAX_LEN . ' characters' )
        if length $name > NAME_MAX_LEN;
    die ERR_BAD_REQUEST->new(qq(invalid animal name "$name": it may not start with a dot)) if $name =~ /^\./;
    die ERR_BAD_REQUEST->new(qq(invalid animal name "$name": only letters, digits, '.', '_' and '-' are allowed))
        if $name =~ /[^A-Za-z0-9._-]/;
    return;
}

sub animal_path { my ( $self, $name ) = @_; return "$self->{animals_dir}/$name.json" }

sub read_animal_text {
    my ( $self, $name ) = @_;
    my $path = $self->animal_path($name);
    if ( !-e $path ) {
        die ERR_NOT_FOUND->new(qq(animal "$name" not found)) if $! == ENOENT;
        die ERR_INTERNAL_SERVER_ERROR->new("$path: $!");
    }
    open my $fh, '<:raw', $path or die ERR_INTERNAL_SERVER_ERROR->new("cannot open $path: $!");
    local $/;
    my $text = <$fh>;
    close $fh;
    return defined $text ? $text : '';
}

sub read_animal {
    my ( $self, $name ) = @_;
    my $text   = $self->read_animal_text($name);
    my $animal = eval { Gearbox::Core::gbx_json_parse($text) };
    die ERR_INTERNAL_SERVER_ERROR->new( qq(stored animal "$name" is damaged: ) . ( ref $@ ? $@->msg : $@ ) )
        unless defined $animal || !$@;
    return $animal;
}

# Writes the animal atomically: a temporary file in the same directory,
# flushed, then renamed over the old one.
sub write_animal {
    my ( $self, $name, $animal ) = @_;
    my $path = $self->animal_path($name);
    my $text = Gearbox::Core::gbx_json_dump($animal);
    my ( $fh, $tmp ) = eval { File::Temp::tempfile( ".$name.json.XXXXXX", DIR => $self->{animals_dir} ) };
    die ERR_INTERNAL_SERVER_ERROR->new("cannot create $self->{animals_dir}/.$name.json.XXXXXX: $!") unless $fh;
    binmode $fh;
    my $ok = ( print {$fh} $text ) && $fh->flush && chmod( 0644, $tmp ) && $fh->sync;
    my $why = "$!";
    $ok = close($fh) && $ok;
    $why = "$!" if !$ok && !$why;
    if ( !$ok || !rename( $tmp, $path ) ) {
        $why = "$!" if $ok;
        unlink $tmp;
        die ERR_INTERNAL_SERVER_ERROR->new("cannot write $path: $why");
    }
    return;
}

sub list_animals {
    my $self = shift;
    opendir my $dh, $self->{animals_dir}
        or die ERR_INTERNAL_SERVER_ERROR->new("cannot read $self->{animals_dir}: $!");
    my @names = sort map { substr $_, 0, -5 } grep { !/^\./ && length > 5 && /\.json$/ } readdir $dh;
    closedir $dh;
    return { animals => \@names };
}

# ---- helpers for handlers -------------------------------------------------

# The animal a request is about: the resource name (the gateway sets the
# generated one for POST without a name), else the first argument.
sub animal_name {
    my $job  = shift;
    my $name = $job->resource_name;
    return $name if length $name;
    return $job->arguments->[0];
}

sub has_arguments { scalar @{ $_[0]->arguments } }

# The validated body as a hash (null -> empty hash).
sub body_object {
    my $job  = shift;
    my $body = $job->json_content;
    return {} unless defined $body;
    die ERR_BAD_REQUEST->new('the body must be a JSON object describing the animal') unless ref $body eq 'HASH';
    return $body;
}

# Adds a message to the job's status (async jobs only).
sub note {
    my ( $job, $resp, $msg ) = @_;
    return unless $job->type == $Gearbox::Job::JOB_ASYNC;
    eval { $resp->status->add_message($msg); 1 } or _WARN( qq(cannot add message "$msg": ), ref $@ ? $@->msg : $@ );
}

sub progress {
    my ( $job, $resp, $percent ) = @_;
    return unless $job->type == $Gearbox::Job::JOB_ASYNC;
    eval { $resp->status->progress($percent); 1 } or _WARN( "cannot set progress $percent: ", ref $@ ? $@->msg : $@ );
}

sub string_value { my $v = shift; return defined $v && !ref $v ? $v : undef }

# What an animal does once created or updated.
sub put_to_work {
    my ( $self, $job, $resp, $animal, $id ) = @_;
    my $name    = string_value( $animal->{name} ) // $id;
    my $species = string_value( $animal->{species} );
    if ( !defined $species || $species ne SPIDER_SPECIES ) {
        note( $job, $resp, "$name is happily rolling around in the mud!" );
        return;
    }
    progress( $job, $resp, 10 );
    note( $job, $resp, "$name is beginning to spin a web." );
    Time::HiRes::sleep( $self->{web_seconds} / 2 ) if $self->{web_seconds} > 0;
    progress( $job, $resp, 50 );
    note( $job, $resp, "$name is still spinning..." );
    Time::HiRes::sleep( $self->{web_seconds} / 2 ) if $self->{web_seconds} > 0;
    note( $job, $resp, "${name}'s web is complete! It says: '" . $WORDS[ time % @WORDS ] . "'" );
}

sub answer_json {
    my ( $resp, $text ) = @_;
    $resp->content($text);
    $resp->add_header( 'Content-Type', 'application/json' );
    return $WORKER_SUCCESS;
}

# A sync caller gets the stored animal back; for an async job the reply is
# not used.
sub answer_animal { my ( $resp, $animal ) = @_; return answer_json( $resp, Gearbox::Core::gbx_json_dump($animal) ) }

# ---- handlers -------------------------------------------------------------

sub do_get_barnperl_animal_v1 {
    my ( $self, $job, $resp ) = @_;
    return answer_json( $resp, Gearbox::Core::gbx_json_dump( $self->list_animals ) ) unless has_arguments($job);
    my $name = animal_name($job);
    check_name($name);
    return answer_json( $resp, $self->read_animal_text($name) );
}

# PUT: create the animal, or replace it whole.
sub do_put_barnperl_animal_v1 {
    my ( $self, $job, $resp ) = @_;
    my $name = has_arguments($job) ? animal_name($job) : undef;
    check_name($name);
    my $animal  = body_object($job);
    my $existed = -e $self->animal_path($name);
    $self->write_animal( $name, $animal );
    note( $job, $resp, qq(animal "$name" ) . ( $existed ? 'replaced' : 'created' ) );
    $self->put_to_work( $job, $resp, $animal, $name );
    return answer_animal( $resp, $animal );
}

# POST without a name: create under the generated name (a pig unless told
# otherwise).  POST with a name: update the given fields of an existing
# animal (its name cannot change).
sub do_post_barnperl_animal_v1 {
    my ( $self, $job, $resp ) = @_;
    my $name = animal_name($job);
    check_name($name);
    my $body      = body_object($job);
    my $operation = $job->operation;
    my $create    = length $operation ? $operation eq 'create' : !has_arguments($job);
    my $animal;
    if ($create) {
        $animal = $body;
        $animal->{species} = DEFAULT_SPECIES unless exists $animal->{species};
    }
    else {
        $animal = $self->read_animal($name);
        my $old_name = string_value( $animal->{name} );
        my $new_name = string_value( $body->{name} );
        die ERR_BAD_REQUEST->new(qq(the name of animal "$name" cannot change))
            if defined $new_name && defined $old_name && $old_name ne $new_name;
        $animal->{$_} = $body->{$_} for keys %$body;
    }
    $self->write_animal( $name, $animal );
    note( $job, $resp, qq(animal "$name" ) . ( $create ? 'created' : 'updated' ) );
    $self->put_to_work( $job, $resp, $animal, $name );
    return answer_animal( $resp, $animal );
}

sub do_delete_barnperl_animal_v1 {
    my ( $self, $job, $resp ) = @_;
    my $name = has_arguments($job) ? animal_name($job) : undef;
    check_name($name);
    my $path = $self->animal_path($name);
    if ( !unlink $path ) {
        die ERR_NOT_FOUND->new(qq(animal "$name" not found)) if $! == ENOENT;
        die ERR_INTERNAL_SERVER_ERROR->new("cannot delete $path: $!");
    }
    note( $job, $resp, qq(animal "$name" deleted) );
    return $WORKER_SUCCESS;
}

# ---- program --------------------------------------------------------------

package main;

use Getopt::Long qw(GetOptionsFromArray);

sub usage {
    my $fh = shift;
    print {$fh} <<'USAGE';
usage: barn_worker.pl --config FILE [--max-requests N] [--log-file F]
                      [--log-level debug|info|warn|error] [--help]
Serves the barn example service in Perl (do_{get,put,post,delete}_barnperl_animal_v1).
  --config FILE       the component config (e.g. examples/barn/conf/barnperl.conf)
  --max-requests N    exit after N jobs (default: never)
  --log-file F        append the log to F (default: stderr)
  --log-level L       debug, info (default), warn or error
SIGTERM or SIGINT stops the worker after the current job.
USAGE
}

sub main {
    my @args = @_;
    my ( $config, $max_requests, $log_file, $log_level, $help );
    GetOptionsFromArray( \@args, 'config=s' => \$config, 'max-requests=s' => \$max_requests,
        'log-file=s' => \$log_file, 'log-level=s' => \$log_level, 'help' => \$help )
        or do { usage( \*STDERR ); return 2 };
    if ($help) { usage( \*STDOUT ); return 0 }
    if ( @args || !defined $config ) {
        print STDERR @args ? qq(barn_worker.pl: unexpected argument "$args[0]"\n)
                           : "barn_worker.pl: --config FILE is required\n";
        usage( \*STDERR );
        return 2;
    }
    if ( defined $max_requests && $max_requests !~ /^\d+$/ ) {
        print STDERR qq(barn_worker.pl: --max-requests needs a number, not "$max_requests"\n);
        return 2;
    }
    if ( !eval { Gearbox::log_to_file($log_file); 1 } ) {
        print STDERR "barn_worker.pl: ", ( ref $@ ? $@->msg : $@ ), "\n";
        return 1;
    }
    if ( defined $log_level && !eval { Gearbox::log_level($log_level); 1 } ) {
        print STDERR qq(barn_worker.pl: unknown log level "$log_level"\n);
        return 2;
    }
    $SIG{PIPE} = 'IGNORE';
    my $worker = eval { BarnWorker->new($config) };
    if ( !$worker ) {
        Gearbox::log( $Gearbox::LOG_ERROR, 'barn: ', ref $@ ? $@->msg : $@ );
        return 1;
    }
    $worker->max_requests( $max_requests // 0 );
    Gearbox::log( $Gearbox::LOG_INFO, "barn: animals in $worker->{animals_dir}" );
    if ( !eval { $worker->run; 1 } ) {
        Gearbox::log( $Gearbox::LOG_ERROR, 'barn: ', ref $@ ? $@->msg : $@ );
        return 1;
    }
    return 0;
}

exit main(@ARGV);
