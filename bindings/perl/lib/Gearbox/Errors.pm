# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Gearbox::Errors - the exception classes of Gearbox, as Yahoo's Gearbox
# named them: ERR_<NAME> for every HTTP error code of the core's table
# (ERR_NOT_FOUND, ERR_CONFLICT, ...) and the aliases ERR_CODE_<n>
# (ERR_CODE_404 isa ERR_NOT_FOUND), all deriving from Gearbox::Error; the
# other names of a code (ERR_GATEWAY_TIMEOUT, today's spelling of Gearbox's
# ERR_GATEWAY_TIME_OUT) are the same class.
# The classes are generated when this module loads, from the one list in C
# (gbx_err_count / gbx_err_at / gbx_err_name), so they cannot drift.
#
#   die ERR_NOT_FOUND->new("thing \"x\" not found");   # or: die new ERR_NOT_FOUND("...")
#   $e->code     404            $e->name   "NOT_FOUND"
#   $e->msg      the message    "$e"       'NOT_FOUND [404]: thing "x" not found'
package Gearbox::Errors;

use strict;
use warnings;

use Gearbox::Core ();

package Gearbox::Error;

use overload
    '""'     => \&as_string,
    '0+'     => sub { $_[0]{code} },
    'bool'   => sub { 1 },
    fallback => 1;

# ERR_X->new($msg); Gearbox::Error->new($name, $code, $msg) as Gearbox had;
# Gearbox::Error->new($code, $msg) for a code of one's own.
sub new {
    my $class = shift;
    my ($name, $code, $msg);
    if ( $class->can('CODE') ) {
        ( $name, $code, $msg ) = ( $class->NAME, $class->CODE, shift );
    }
    elsif ( @_ >= 3 ) {
        ( $name, $code, $msg ) = @_;
    }
    else {
        ( $code, $msg ) = @_;
        $code = 500 unless defined $code && $code =~ /^\d+$/;
        $name = Gearbox::Core::gbx_err_name($code) // 'ERROR';
    }
    $msg = '' unless defined $msg;
    return bless { name => $name, code => 0 + $code, msg => "$msg" }, $class;
}

# The class of a code: ERR_<NAME>, or Gearbox::Error outside the table.
sub _from_code {
    my ( $code, $msg ) = @_;
    my $name = Gearbox::Core::gbx_err_name($code);
    return defined $name ? "ERR_$name"->new($msg) : Gearbox::Error->new( $code, $msg );
}

sub throw { my $class = shift; die $class->new(@_) }

sub name    { $_[0]{name} }
sub code    { $_[0]{code} }
sub msg     { $_[0]{msg} }
sub message { $_[0]{msg} }

# 'NOT_FOUND [404]: message', as the core formats it for statuses.
sub as_string { Gearbox::Core::gbx_error_format( $_[0]{code}, $_[0]{msg} ) }

package Gearbox::Errors;

# The table, in its order: [NAME, code] pairs.
our @TABLE;

for my $i ( 0 .. Gearbox::Core::gbx_err_count() - 1 ) {
    my $code = Gearbox::Core::gbx_pl_err_at($i);
    my $name = Gearbox::Core::gbx_err_name($code);
    push @TABLE, [ $name, $code ];
    no strict 'refs';
    @{"ERR_${name}::ISA"} = ('Gearbox::Error');
    my ( $n, $c ) = ( $name, $code );
    *{"ERR_${name}::NAME"} = sub { $n };
    *{"ERR_${name}::CODE"} = sub { $c };
    @{"ERR_CODE_${code}::ISA"} = ("ERR_$name");
}

# The other names of a code (ERR_GATEWAY_TIMEOUT for ERR_GATEWAY_TIME_OUT):
# the same class under a second name (an alias of its symbol table), so that
# isa, ->new and ref agree whichever name a worker uses.
for my $i ( 0 .. Gearbox::Core::gbx_err_name_count() - 1 ) {
    my $alias = Gearbox::Core::gbx_err_name_at($i);
    my $name  = Gearbox::Core::gbx_err_name( Gearbox::Core::gbx_err_from_name($alias) );
    next if $alias eq $name;
    no strict 'refs';
    *{"main::ERR_${alias}::"} = \*{"main::ERR_${name}::"};
}

1;
