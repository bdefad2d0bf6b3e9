#!/usr/bin/perl
# The interop scenario with Perl's OpenAPI::Client (Debian libopenapi-client-perl): the client is
# generated at run time from the spec in $SPEC (generated/openapi-3.0.json; OpenAPI::Client reads
# OpenAPI 2 and 3.0), every call goes through its operationId method (which validates the request
# against the spec before sending it), and every answer is validated against the operation's
# response in the spec (the validator's validate_response). The License API's Date comes from
# Mojolicious' HTTP-date formatter (Mojo::Date). One JSON line per step on stdout: {step, ok,
# status, error}; the first failing step ends the run with exit code 1.
#
# Environment: SPEC, BASE_URL, MANAGEMENT_API_KEY, LICENSE_API_KEY, SHARED_KEY, SHORT_CODE.
use strict;
use warnings;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64 decode_base64url);
use Mojo::Date;
use Mojo::JSON qw(encode_json decode_json);
use OpenAPI::Client;

my %env = map { $_ => ($ENV{$_} // die "$_ is not set\n") } qw(SPEC BASE_URL MANAGEMENT_API_KEY LICENSE_API_KEY SHARED_KEY SHORT_CODE);
my %current;

sub report { print encode_json({@_}), "\n"; STDOUT->flush }

sub fail {
  my ($message) = @_;
  report(%current, ok => Mojo::JSON->false, error => $message);
  exit 1;
}

sub step { %current = (step => shift) }
sub pass { report(%current, ok => Mojo::JSON->true) }

my $client = eval { OpenAPI::Client->new($env{SPEC}, base_url => $env{BASE_URL}) };
unless ($client) {
  step('load_spec');
  fail("OpenAPI::Client cannot load $env{SPEC}: $@");
}

# Which credentials the next call carries: the spec declares them as security schemes, which
# OpenAPI::Client does not apply itself.
my $auth = sub { };
$client->on(after_build_tx => sub { my ($client, $tx) = @_; $auth->($tx) });
my $management = sub { $_[0]->req->headers->authorization("Api-Key $env{MANAGEMENT_API_KEY}") };
my $no_auth    = sub { };

# The License API's signature over the Date header this call sends (a header parameter in the spec).
sub signed_date {
  my $date      = Mojo::Date->new(time)->to_string;
  my $signature = encode_base64(hmac_sha256("licenseSpring\ndate: $date", $env{SHARED_KEY}), '');
  my $authorization = qq{algorithm="hmac-sha256",headers="date",signature="$signature",apikey="$env{LICENSE_API_KEY}"};
  return ($date, sub { $_[0]->req->headers->authorization($authorization) });
}

# Calls an operation by its operationId and checks the status and the answer against the spec.
sub call {
  my ($operation, $params, $credentials, $want_status) = @_;
  $auth = $credentials;
  my $tx = eval { $client->$operation($params) };
  fail("$operation: the client died: " . (split /\n/, $@)[0]) unless $tx;
  my $res = $tx->res;
  $current{status} = $res->code;
  # A request the client's own validation refuses is not sent: a made-up 400 without a connection.
  if (!$tx->remote_address and (($res->error // {})->{message} // '') eq 'Invalid input') {
    fail("$operation: OpenAPI::Client refused to send the request: " . $res->body);
  }
  my $method = lc $tx->req->method;
  fail("$operation: status " . ($res->code // 'none') . ", expected $want_status; sent " . ($tx->req->body // '') . "; answer " . ($res->body // '') . ($res->error ? " (" . encode_json($res->error) . ")" : ''))
    unless ($res->code // 0) == $want_status;
  my $route = $client->validator->get(['paths']);
  my ($path) = grep { exists $route->{$_}{$method} and ($route->{$_}{$method}{operationId} // '') eq $operation } keys %$route;
  my $body = $res->json;
  my @errors = eval {
    $client->validator->validate_response([$method, $path, $res->code], {
      body   => sub { return {exists => 1, value => $body, content_type => $res->headers->content_type} },
      header => sub { my ($name) = @_; my $value = $res->headers->header($name); return {exists => defined $value, value => $value} },
    });
  };
  fail("$operation: validating the answer against the spec died: " . (split /\n/, $@)[0]) if $@;
  fail("$operation: the answer does not match the spec: @errors; answer " . $res->body) if @errors;
  return $body;
}

sub expect_equal {
  my ($what, $got, $want) = @_;
  my ($g, $w) = map { ref $_ ? encode_json($_) : ($_ // 'null') } $got, $want;
  fail("$what: got $g, expected $w") unless $g eq $w;
}

step('create_product');
my $product = call(createV1Product => {body => {product_name => 'Interop Perl', short_code => $env{SHORT_CODE}}}, $management, 201);
expect_equal('product short_code', $product->{short_code}, $env{SHORT_CODE});
pass();

step('create_product_feature');
my $feature = call(createV1ProductFeature => {body => {product => $product->{id}, name => 'API calls', code => 'api-calls', feature_type => 'consumption', max_consumption => 100}}, $management, 201);
expect_equal('feature max_consumption', $feature->{max_consumption}, 100);
pass();

step('create_license');
my $license = call(createV1License => {body => {product => $product->{id}, license_type => 'perpetual', max_activations => 3, validity_period => '2030-12-31'}}, $management, 201);
fail('the license has no key') unless defined $license->{license_key};
my $key = $license->{license_key};
pass();

my $hardware_id = 'interop-perl-device';
step('activate_license');
my ($date, $signed) = signed_date();
my $activated = call(activateLicense => {Date => $date, body => {license_key => $key, hardware_id => $hardware_id, product => $env{SHORT_CODE}}}, $signed, 200);
expect_equal('activated license id', $activated->{id}, $license->{id});
pass();

step('add_feature_consumption');
($date, $signed) = signed_date();
my $consumption = call(addFeatureConsumption => {Date => $date, body => {license_key => $key, hardware_id => $hardware_id, product => $env{SHORT_CODE}, feature => 'api-calls', consumptions => 3}}, $signed, 200);
expect_equal('feature total_consumptions', $consumption->{total_consumptions}, 3);
pass();

step('check_license');
($date, $signed) = signed_date();
my $checked = call(checkLicense => {Date => $date, license_key => $key, hardware_id => $hardware_id, product => $env{SHORT_CODE}}, $signed, 200);
expect_equal('checked features', [map { [$_->{code}, $_->{total_consumptions}] } @{$checked->{product_features}}], [['api-calls', 3]]);
pass();

step('v3_create_activation');
my $token = call(createActivation => {body => {os => 'linux', fingerprint => '0123456789abcdef' x 4, hostname => 'interop-perl', userHash => 'u-perl', productId => "$product->{id}", accountId => '', key => $key}}, $no_auth, 201);
my $claims = decode_json(decode_base64url((split /\./, $token->{activationToken})[1]));
pass();

step('v3_increment_meter_attribute');
my $uses = call(incrementActivationMeterAttribute => {id => 'api-calls', body => {increment => 2, activationId => $claims->{aid}, accountId => ''}}, $no_auth, 200);
expect_equal('meter attribute (uses, licenseTotalUses, licenseAllowedUses)', [@$uses{qw(uses licenseTotalUses licenseAllowedUses)}], [2, 5, 100]);
pass();

step('update_features');
my $updated = call(updateV1LicenseFeatures => {id => $license->{id}, body => {product_features => [{product_feature => 'api-calls', max_consumption => 500}]}}, $management, 200);
expect_equal('updated features', [map { [$_->{product_feature}{code}, $_->{max_consumption}, $_->{total_consumptions}] } @{$updated->{product_features}}], [['api-calls', 500, 5]]);
pass();
