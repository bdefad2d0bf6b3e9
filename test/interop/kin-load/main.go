// Loads an OpenAPI 3.0 document with kin-openapi (the library under oapi-codegen; Debian's
// golang-github-getkin-kin-openapi-dev) and validates it: exit 0 when both succeed, 1 with the error.
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run ./test/interop/kin-load generated/openapi-3.0.json
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/getkin/kin-openapi/openapi3"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kin-load <openapi-3.0 document>")
		os.Exit(2)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "kin-openapi: cannot load %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	if err := doc.Validate(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "kin-openapi: %s is invalid: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	fmt.Printf("kin-openapi: %s loads and validates (OpenAPI %s, %d paths)\n", os.Args[1], doc.OpenAPI, len(doc.Paths))
}
