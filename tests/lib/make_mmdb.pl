#!/usr/bin/perl
# Writes a small MaxMind-format database (the GeoLite2-City / DB-IP Lite
# layout: city.names.en, country.names.en, country.iso_code) for the tests:
#   make_mmdb.pl OUT.mmdb CIDR=City,Country [CIDR=,Country ...]
# Names may spell UTF-8 bytes as \xNN.
# Loopback networks are kept (the writer drops reserved ones by default).
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift @ARGV or die "usage: make_mmdb.pl OUT.mmdb CIDR=City,Country ...\n";
my %types = (
    city     => 'map',
    country  => 'map',
    names    => 'map',
    en       => 'utf8_string',
    iso_code => 'utf8_string',
);
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => 6,
    record_size              => 24,
    database_type            => 'GeoLite2-City',
    languages                => ['en'],
    description              => { en => 'authd test locations' },
    map_key_type_callback    => sub { $types{ $_[0] } },
    remove_reserved_networks => 0,
);
for my $arg (@ARGV) {
    my ($cidr, $place) = split /=/, $arg, 2;
    $place =~ s/\\x([0-9a-fA-F]{2})/chr(hex($1))/ge;
    utf8::decode($place) or die "not UTF-8: $arg\n";
    my ($city, $country) = split /,/, $place, 2;
    my %rec = (country => { names => { en => $country }, iso_code => 'ZZ' });
    $rec{city} = { names => { en => $city } } if length $city;
    $tree->insert_network($cidr, \%rec);
}
open my $fh, '>:raw', $out or die "cannot write $out: $!\n";
$tree->write_tree($fh);
close $fh or die "cannot write $out: $!\n";
