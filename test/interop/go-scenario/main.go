// The interop scenario in Go: every request body is built from, and every response body decoded
// into, the types quicktype generated from generated/openapi.json (types.go, written beside this
// file into a build directory by test/interop/support/generate.ts). Standard library only
// (GO111MODULE=off). One JSON line per step on stdout: {"step","ok","status","error"}; the first
// failing step ends the run with exit code 1.
//
// Environment: BASE_URL, MANAGEMENT_API_KEY, LICENSE_API_KEY, SHARED_KEY, SHORT_CODE.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

var (
	baseURL       = os.Getenv("BASE_URL")
	managementKey = os.Getenv("MANAGEMENT_API_KEY")
	licenseAPIKey = os.Getenv("LICENSE_API_KEY")
	sharedKey     = os.Getenv("SHARED_KEY")
	shortCode     = os.Getenv("SHORT_CODE")
)

type stepResult struct {
	Step   string `json:"step"`
	OK     bool   `json:"ok"`
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
}

var current = stepResult{}

func report(r stepResult) {
	line, _ := json.Marshal(r)
	fmt.Println(string(line))
}

// fail ends the run: the current step failed with this error.
func fail(format string, args ...interface{}) {
	current.OK = false
	current.Error = fmt.Sprintf(format, args...)
	report(current)
	os.Exit(1)
}

func step(name string) { current = stepResult{Step: name} }

func pass() {
	current.OK = true
	report(current)
}

// signV4 adds the License API's Date (net/http's standard HTTP-date form) and HMAC Authorization.
func signV4(req *http.Request) {
	date := time.Now().UTC().Format(http.TimeFormat)
	mac := hmac.New(sha256.New, []byte(sharedKey))
	mac.Write([]byte("licenseSpring\ndate: " + date))
	signature := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	req.Header.Set("Date", date)
	req.Header.Set("Authorization", fmt.Sprintf(`algorithm="hmac-sha256",headers="date",signature="%s",apikey="%s"`, signature, licenseAPIKey))
}

// call sends one request; body is what the generated type's Marshal produced (nil: no body).
func call(method, path string, body []byte, auth func(*http.Request), wantStatus int) []byte {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, baseURL+path, reader)
	if err != nil {
		fail("request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	auth(req)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fail("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(res.Body)
	if err != nil {
		fail("reading the answer: %v", err)
	}
	current.Status = res.StatusCode
	if res.StatusCode != wantStatus {
		fail("%s %s: status %d, expected %d; sent %s; answer %s", method, path, res.StatusCode, wantStatus, body, answer)
	}
	return answer
}

func managementAuth(req *http.Request) { req.Header.Set("Authorization", "Api-Key "+managementKey) }
func noAuth(*http.Request)             {}

// decode reads an answer into a generated type, refusing fields the type does not know
// (quicktype's Go types do not check required fields themselves).
func decode(answer []byte, into interface{}) {
	decoder := json.NewDecoder(bytes.NewReader(answer))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(into); err != nil {
		fail("decoding into %T: %v; answer %s", into, err, answer)
	}
}

func marshal(value interface{ Marshal() ([]byte, error) }) []byte {
	body, err := value.Marshal()
	if err != nil {
		fail("encoding %T: %v", value, err)
	}
	return body
}

func expectEqual(what string, got, want interface{}) {
	if fmt.Sprint(got) != fmt.Sprint(want) {
		fail("%s: got %v, expected %v", what, got, want)
	}
}

func main() {
	step("create_product")
	productRequest := V1CreateProductRequest{ProductName: "Interop Go", ShortCode: shortCode}
	var product V1Product
	decode(call("POST", "/api/v1/products/", marshal(&productRequest), managementAuth, 201), &product)
	expectEqual("product short_code", product.ShortCode, shortCode)
	pass()

	step("create_product_feature")
	maxConsumption := int64(100)
	featureRequest := V1CreateProductFeatureRequest{Product: product.ID, Name: "API calls", Code: "api-calls", FeatureType: "consumption", MaxConsumption: &maxConsumption}
	var feature V1ProductFeature
	decode(call("POST", "/api/v1/product-features/", marshal(&featureRequest), managementAuth, 201), &feature)
	expectEqual("feature max_consumption", feature.MaxConsumption, 100)
	pass()

	step("create_license")
	validity := "2030-12-31"
	licenseRequest := V1CreateLicenseRequest{Product: product.ID, LicenseType: "perpetual", MaxActivations: 3, ValidityPeriod: &validity}
	var license V1License
	decode(call("POST", "/api/v1/licenses/", marshal(&licenseRequest), managementAuth, 201), &license)
	if license.LicenseKey == nil {
		fail("the license has no key (license_key null): a key-based license was asked for")
	}
	expectEqual("license validity_period", *license.ValidityPeriod, validity)
	licenseKey := *license.LicenseKey
	pass()

	hardwareID := "interop-go-device"
	step("activate_license")
	activateRequest := V4ActivateLicenseRequest{LicenseKey: &licenseKey, HardwareID: hardwareID, Product: shortCode}
	var activated V4License
	decode(call("POST", "/api/v4/activate_license", marshal(&activateRequest), signV4, 200), &activated)
	expectEqual("activated license id", activated.ID, license.ID)
	pass()

	step("add_feature_consumption")
	consumptions := int64(3)
	consumptionRequest := V4AddFeatureConsumptionRequest{LicenseKey: &licenseKey, HardwareID: hardwareID, Product: shortCode, Feature: "api-calls", Consumptions: &consumptions}
	var consumption V4FeatureConsumption
	decode(call("POST", "/api/v4/add_feature_consumption", marshal(&consumptionRequest), signV4, 200), &consumption)
	expectEqual("feature total_consumptions", consumption.TotalConsumptions, 3)
	pass()

	step("check_license")
	query := url.Values{"license_key": {licenseKey}, "hardware_id": {hardwareID}, "product": {shortCode}}
	var checked V4License
	decode(call("GET", "/api/v4/check_license?"+query.Encode(), nil, signV4, 200), &checked)
	if len(checked.ProductFeatures) != 1 {
		fail("check_license: %d product features, expected 1", len(checked.ProductFeatures))
	}
	expectEqual("checked feature total_consumptions", checked.ProductFeatures[0].TotalConsumptions, 3)
	pass()

	step("v3_create_activation")
	activationRequest := V3CreateActivationRequest{OS: "linux", Hostname: "interop-go", UserHash: "u-go", Fingerprint: strings.Repeat("0123456789abcdef", 4), ProductID: fmt.Sprint(product.ID), AccountID: "", Key: licenseKey}
	var token V3ActivationToken
	decode(call("POST", "/v3/activations", marshal(&activationRequest), noAuth, 201), &token)
	parts := strings.Split(token.ActivationToken, ".")
	if len(parts) != 3 {
		fail("activationToken is not a JWT: %q", token.ActivationToken)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		fail("activationToken payload: %v", err)
	}
	var claims struct {
		Aid string `json:"aid"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Aid == "" {
		fail("activationToken has no aid claim: %s", payload)
	}
	pass()

	step("v3_increment_meter_attribute")
	incrementRequest := V3IncrementMeterAttributeRequest{Increment: 2, ActivationID: claims.Aid, AccountID: ""}
	var uses V3MeterAttributeUses
	decode(call("POST", "/v3/activations/meter-attributes/api-calls", marshal(&incrementRequest), noAuth, 200), &uses)
	expectEqual("meter attribute uses", uses.Uses, 2)
	expectEqual("meter attribute licenseTotalUses", uses.LicenseTotalUses, 5)
	expectEqual("meter attribute licenseAllowedUses", uses.LicenseAllowedUses, 100)
	pass()

	step("update_features")
	newMax := int64(500)
	updateRequest := V1UpdateLicenseFeaturesRequest{ProductFeatures: []V1LicenseFeatureSettings{{ProductFeature: "api-calls", MaxConsumption: &newMax}}}
	var updated V1License
	decode(call("POST", fmt.Sprintf("/api/v1/licenses/%d/update_features/", license.ID), marshal(&updateRequest), managementAuth, 200), &updated)
	if len(updated.ProductFeatures) != 1 {
		fail("update_features: %d product features, expected 1", len(updated.ProductFeatures))
	}
	expectEqual("updated feature max_consumption", updated.ProductFeatures[0].MaxConsumption, 500)
	expectEqual("updated feature total_consumptions", updated.ProductFeatures[0].TotalConsumptions, 5)
	expectEqual("updated feature consumption_period", updated.ProductFeatures[0].ConsumptionPeriod == nil, true)
	pass()
}
