"""The interop scenario in Python: every request body is built from, and every response body decoded
by, the dataclasses quicktype generated from generated/openapi.json (interop_types.py, on
PYTHONPATH). Standard library only: urllib, hmac, email.utils.formatdate for the License API's Date.
One JSON line per step on stdout: {"step", "ok", "status", "error"}; the first failing step ends the
run with exit code 1.

Environment: BASE_URL, MANAGEMENT_API_KEY, LICENSE_API_KEY, SHARED_KEY, SHORT_CODE.
"""
import base64
import email.utils
import hashlib
import hmac
import json
import os
import sys
import traceback
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime

import interop_types as t

BASE_URL = os.environ["BASE_URL"]
MANAGEMENT_KEY = os.environ["MANAGEMENT_API_KEY"]
LICENSE_API_KEY = os.environ["LICENSE_API_KEY"]
SHARED_KEY = os.environ["SHARED_KEY"]
SHORT_CODE = os.environ["SHORT_CODE"]


class StepFailed(Exception):
    pass


current = {}


def report(result):
    print(json.dumps(result), flush=True)


def management_auth(headers):
    headers["Authorization"] = "Api-Key " + MANAGEMENT_KEY


def sign_v4(headers):
    """The License API's Date, as Python's standard library writes an HTTP date, and its HMAC."""
    date = email.utils.formatdate(usegmt=False)
    digest = hmac.new(SHARED_KEY.encode(), ("licenseSpring\ndate: " + date).encode(), hashlib.sha256).digest()
    signature = base64.b64encode(digest).decode()
    headers["Date"] = date
    headers["Authorization"] = 'algorithm="hmac-sha256",headers="date",signature="%s",apikey="%s"' % (signature, LICENSE_API_KEY)


def no_auth(headers):
    pass


def call(method, path, body, auth, want_status):
    """Sends one request (body: a generated type's to_dict(), or None) and returns the decoded JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    auth(headers)
    request = urllib.request.Request(BASE_URL + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, answer = error.code, error.read()
    current["status"] = status
    if status != want_status:
        raise StepFailed("%s %s: status %d, expected %d; sent %s; answer %s" % (method, path, status, want_status, data and data.decode(), answer.decode()))
    return json.loads(answer)


def decode(from_dict, answer):
    try:
        return from_dict(answer)
    except Exception as error:  # the generated from_dict asserts types and required fields
        raise StepFailed("decoding with %s: %s: %s; answer %s" % (from_dict.__qualname__, type(error).__name__, error, json.dumps(answer)))


def expect_equal(what, got, want):
    if got != want:
        raise StepFailed("%s: got %r, expected %r" % (what, got, want))


def scenario():
    step("create_product")
    product_request = t.V1CreateProductRequest(product_name="Interop Python", short_code=SHORT_CODE)
    product = decode(t.V1Product.from_dict, call("POST", "/api/v1/products/", product_request.to_dict(), management_auth, 201))
    expect_equal("product short_code", product.short_code, SHORT_CODE)
    yield

    step("create_product_feature")
    feature_request = t.V1CreateProductFeatureRequest(product=product.id, name="API calls", code="api-calls", feature_type=t.FeatureType.CONSUMPTION, max_consumption=100)
    feature = decode(t.V1ProductFeature.from_dict, call("POST", "/api/v1/product-features/", feature_request.to_dict(), management_auth, 201))
    expect_equal("feature max_consumption", feature.max_consumption, 100)
    yield

    step("create_license")
    # validity_period is `format: date`: the generated field is a datetime.
    license_request = t.V1CreateLicenseRequest(product=product.id, license_type=t.LicenseType.PERPETUAL, max_activations=3, validity_period=datetime(2030, 12, 31))
    license = decode(t.V1License.from_dict, call("POST", "/api/v1/licenses/", license_request.to_dict(), management_auth, 201))
    if license.license_key is None:
        raise StepFailed("the license has no key (license_key null): a key-based license was asked for")
    license_key = license.license_key
    yield

    hardware_id = "interop-python-device"
    step("activate_license")
    activate_request = t.V4ActivateLicenseRequest(hardware_id=hardware_id, product=SHORT_CODE, license_key=license_key)
    activated = decode(t.V4License.from_dict, call("POST", "/api/v4/activate_license", activate_request.to_dict(), sign_v4, 200))
    expect_equal("activated license id", activated.id, license.id)
    yield

    step("add_feature_consumption")
    consumption_request = t.V4AddFeatureConsumptionRequest(hardware_id=hardware_id, product=SHORT_CODE, feature="api-calls", license_key=license_key, consumptions=3)
    consumption = decode(t.V4FeatureConsumption.from_dict, call("POST", "/api/v4/add_feature_consumption", consumption_request.to_dict(), sign_v4, 200))
    expect_equal("feature total_consumptions", consumption.total_consumptions, 3)
    yield

    step("check_license")
    query = urllib.parse.urlencode({"license_key": license_key, "hardware_id": hardware_id, "product": SHORT_CODE})
    checked = decode(t.V4License.from_dict, call("GET", "/api/v4/check_license?" + query, None, sign_v4, 200))
    expect_equal("checked features", [(f.code, f.total_consumptions) for f in checked.product_features], [("api-calls", 3)])
    yield

    step("v3_create_activation")
    activation_request = t.V3CreateActivationRequest(os=t.V3OperatingSystem.LINUX, fingerprint="0123456789abcdef" * 4, hostname="interop-python", user_hash="u-python", product_id=str(product.id), account_id="", key=license_key)
    token = decode(t.V3ActivationToken.from_dict, call("POST", "/v3/activations", activation_request.to_dict(), no_auth, 201))
    payload = token.activation_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    activation_id = claims["aid"]
    yield

    step("v3_increment_meter_attribute")
    increment_request = t.V3IncrementMeterAttributeRequest(increment=2, activation_id=activation_id, account_id="")
    uses = decode(t.V3MeterAttributeUses.from_dict, call("POST", "/v3/activations/meter-attributes/api-calls", increment_request.to_dict(), no_auth, 200))
    expect_equal("meter attribute (uses, licenseTotalUses, licenseAllowedUses)", (uses.uses, uses.license_total_uses, uses.license_allowed_uses), (2, 5, 100))
    yield

    step("update_features")
    update_request = t.V1UpdateLicenseFeaturesRequest(product_features=[t.V1LicenseFeatureSettings(product_feature="api-calls", max_consumption=500)])
    updated = decode(t.V1License.from_dict, call("POST", "/api/v1/licenses/%d/update_features/" % license.id, update_request.to_dict(), management_auth, 200))
    expect_equal("updated features", [(f.product_feature.code, f.max_consumption, f.total_consumptions, f.consumption_period) for f in updated.product_features], [("api-calls", 500, 5, None)])
    yield


def step(name):
    current.clear()
    current["step"] = name


def main():
    steps = scenario()
    while True:
        try:
            next(steps)
        except StopIteration:
            return 0
        except StepFailed as error:
            report({**current, "ok": False, "error": str(error)})
            return 1
        except Exception as error:
            report({**current, "ok": False, "error": "%s: %s\n%s" % (type(error).__name__, error, traceback.format_exc())})
            return 1
        report({**current, "ok": True})


if __name__ == "__main__":
    sys.exit(main())
