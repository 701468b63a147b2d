package http

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gofiber/fiber/v2"
	"gopkg.in/yaml.v3"
)

// openAPIYAML is the API's contract (OpenAPI 3.1). The contract tests validate every response the tests see
// against it, so it and the handlers cannot drift apart.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// LoadOpenAPI parses and validates the API's OpenAPI document: the core's, with the modules' fragments merged in
// (DESIGN §12). A fragment holds paths and components.schemas to add (a name the core or another fragment has
// already is an error), and x-extends, the schemas it adds to one of the core's oneOf lists (WebhookPayloadData,
// WebSocketMessage).
func LoadOpenAPI(fragments ...[]byte) (*openapi3.T, error) {
	merged, err := mergeOpenAPI(openAPIYAML, fragments)
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(merged)
	if err != nil {
		return nil, fmt.Errorf("parse the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate the OpenAPI document: %w", err)
	}
	return doc, nil
}

// mergeOpenAPI merges fragments into the core document, as JSON.
func mergeOpenAPI(core []byte, fragments [][]byte) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(core, &doc); err != nil {
		return nil, fmt.Errorf("parse openapi.yaml: %w", err)
	}
	paths, _ := doc["paths"].(map[string]any)
	components, _ := doc["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	if paths == nil || schemas == nil {
		return nil, errors.New("openapi.yaml has no paths or no components.schemas")
	}
	for i, raw := range fragments {
		var frag struct {
			Paths      map[string]any `yaml:"paths"`
			Components struct {
				Schemas map[string]any `yaml:"schemas"`
			} `yaml:"components"`
			Extends map[string][]string `yaml:"x-extends"`
		}
		if err := yaml.Unmarshal(raw, &frag); err != nil {
			return nil, fmt.Errorf("OpenAPI fragment %d: %w", i, err)
		}
		for name, p := range frag.Paths {
			if _, dup := paths[name]; dup {
				return nil, fmt.Errorf("OpenAPI fragment %d: path %s is already defined", i, name)
			}
			paths[name] = p
		}
		for name, sc := range frag.Components.Schemas {
			if _, dup := schemas[name]; dup {
				return nil, fmt.Errorf("OpenAPI fragment %d: schema %s is already defined", i, name)
			}
			schemas[name] = sc
		}
		for target, added := range frag.Extends {
			sc, _ := schemas[target].(map[string]any)
			list, ok := sc["oneOf"].([]any)
			if !ok {
				return nil, fmt.Errorf("OpenAPI fragment %d: x-extends %s, which is not a oneOf of the core", i, target)
			}
			for _, name := range added {
				list = append(list, map[string]any{"$ref": "#/components/schemas/" + name})
			}
			sc["oneOf"] = list
		}
	}
	return json.Marshal(doc)
}

// ValidateWebhookPayload checks a webhook delivery's body against the document's WebhookPayload schema: what a
// consumer generating its types from the document expects. Tests hold every delivery they receive to it.
func ValidateWebhookPayload(doc *openapi3.T, body []byte) error {
	return validateAgainst(doc, "WebhookPayload", body)
}

// ValidateWebSocketMessage checks a message the WebSocket feed sent against the document's WebSocketMessage schema.
func ValidateWebSocketMessage(doc *openapi3.T, body []byte) error {
	return validateAgainst(doc, "WebSocketMessage", body)
}

// ValidateSchema checks body against one of the document's schemas by name.
func ValidateSchema(doc *openapi3.T, schema string, body []byte) error {
	return validateAgainst(doc, schema, body)
}

func validateAgainst(doc *openapi3.T, schema string, body []byte) error {
	ref, ok := doc.Components.Schemas[schema]
	if !ok {
		return fmt.Errorf("the OpenAPI document has no schema %s", schema)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return ref.Value.VisitJSON(v)
}

// apiDocs is the contract as served: JSON at /openapi.json and a readable page at /docs.
type apiDocs struct {
	json []byte
	html []byte
	err  error
}

func newAPIDocs(fragments [][]byte) apiDocs {
	doc, err := LoadOpenAPI(fragments...)
	if err != nil {
		return apiDocs{err: err}
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return apiDocs{err: err}
	}
	page, err := renderDocs(doc)
	return apiDocs{json: raw, html: page, err: err}
}

func (s *Server) openAPI(c *fiber.Ctx) error {
	if s.docs.err != nil {
		return fmt.Errorf("the OpenAPI document: %w", s.docs.err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(s.docs.json)
}

func (s *Server) apiReference(c *fiber.Ctx) error {
	if s.docs.err != nil {
		return fmt.Errorf("the OpenAPI document: %w", s.docs.err)
	}
	// The page is one document with its own styles and no script.
	c.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(s.docs.html)
}

// The reference page: every operation by tag, its parameters, body and responses, then every schema.
type docsOperation struct {
	Method, Path, ID, Summary, Description, Security string
	Params                                           []docsParam
	Body                                             string
	Responses                                        []docsResponse
}

type docsParam struct{ Name, In, Type, Description string }

type docsResponse struct{ Status, Description, Schema string }

type docsSchema struct {
	Name, Description string
	Props             []docsProp
}

type docsProp struct{ Name, Type, Description string }

type docsTag struct {
	Name, Description string
	Ops               []docsOperation
}

func schemaType(ref *openapi3.SchemaRef) string {
	if ref == nil {
		return ""
	}
	if ref.Ref != "" {
		return strings.TrimPrefix(ref.Ref, "#/components/schemas/")
	}
	s := ref.Value
	if s == nil {
		return ""
	}
	if s.Type != nil && s.Type.Is("array") && s.Items != nil {
		return "array of " + schemaType(s.Items)
	}
	if len(s.Enum) > 0 {
		var vals []string
		for _, v := range s.Enum {
			vals = append(vals, fmt.Sprint(v))
		}
		return "one of " + strings.Join(vals, ", ")
	}
	var types []string
	if s.Type != nil {
		types = s.Type.Slice()
	}
	out := strings.Join(types, " or ")
	if s.Format != "" {
		out += " (" + s.Format + ")"
	}
	if out == "" && len(s.OneOf) > 0 {
		var alts []string
		for _, alt := range s.OneOf {
			alts = append(alts, schemaType(alt))
		}
		return strings.Join(alts, " or ")
	}
	if out == "" {
		return "object"
	}
	return out
}

func bodySchema(content openapi3.Content) string {
	var parts []string
	for _, mt := range slices.Sorted(func(yield func(string) bool) {
		for k := range content {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, mt+": "+schemaType(content[mt].Schema))
	}
	return strings.Join(parts, "; ")
}

func renderDocs(doc *openapi3.T) ([]byte, error) {
	tags := map[string]*docsTag{}
	var order []*docsTag
	for _, t := range doc.Tags {
		dt := &docsTag{Name: t.Name, Description: t.Description}
		tags[t.Name] = dt
		order = append(order, dt)
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			do := docsOperation{Method: method, Path: path, ID: op.OperationID, Summary: op.Summary, Description: op.Description}
			if op.Security != nil {
				var scopes []string
				for _, req := range *op.Security {
					for _, s := range req {
						scopes = append(scopes, s...)
					}
				}
				slices.Sort(scopes)
				scopes = slices.Compact(scopes)
				do.Security = strings.Join(scopes, ", ")
				if len(scopes) == 0 {
					do.Security = "none"
				}
			}
			for _, p := range append(slices.Clone(item.Parameters), op.Parameters...) {
				if p.Value != nil {
					do.Params = append(do.Params, docsParam{Name: p.Value.Name, In: p.Value.In, Type: schemaType(p.Value.Schema),
						Description: p.Value.Description})
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				do.Body = bodySchema(op.RequestBody.Value.Content)
			}
			for _, status := range slices.Sorted(func(yield func(string) bool) {
				for k := range op.Responses.Map() {
					if !yield(k) {
						return
					}
				}
			}) {
				r := op.Responses.Value(status)
				if r.Value == nil {
					continue
				}
				desc := ""
				if r.Value.Description != nil {
					desc = *r.Value.Description
				}
				do.Responses = append(do.Responses, docsResponse{Status: status, Description: desc, Schema: bodySchema(r.Value.Content)})
			}
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			if tags[tag] == nil {
				tags[tag] = &docsTag{Name: tag}
				order = append(order, tags[tag])
			}
			tags[tag].Ops = append(tags[tag].Ops, do)
		}
	}
	var schemas []docsSchema
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range doc.Components.Schemas {
			if !yield(k) {
				return
			}
		}
	}) {
		s := doc.Components.Schemas[name].Value
		ds := docsSchema{Name: name, Description: s.Description}
		for _, prop := range slices.Sorted(func(yield func(string) bool) {
			for k := range s.Properties {
				if !yield(k) {
					return
				}
			}
		}) {
			p := s.Properties[prop]
			desc := ""
			if p.Value != nil {
				desc = p.Value.Description
			}
			name := prop
			if slices.Contains(s.Required, prop) {
				name += " *"
			}
			ds.Props = append(ds.Props, docsProp{Name: name, Type: schemaType(p), Description: desc})
		}
		if len(ds.Props) == 0 {
			ds.Description = strings.TrimSpace(ds.Description + " " + schemaType(doc.Components.Schemas[name]))
		}
		schemas = append(schemas, ds)
	}
	tmpl, err := template.New("docs").Parse(docsPage)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = tmpl.Execute(&buf, map[string]any{"Title": doc.Info.Title, "Version": doc.Info.Version,
		"Description": doc.Info.Description, "Tags": order, "Schemas": schemas})
	return buf.Bytes(), err
}

const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — API reference</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; color: #1b1b1b; background: #fff; margin: 0 auto; max-width: 70rem; padding: 1rem 2rem; }
h1, h2, h3 { line-height: 1.2; }
h2 { border-bottom: 2px solid #1b1b1b; padding-bottom: .25rem; margin-top: 2.5rem; }
section.op { border: 1px solid #c8c8c8; border-radius: 6px; padding: .5rem 1rem; margin: 1rem 0; }
.method { display: inline-block; min-width: 4.5rem; font-weight: 700; }
code, pre { font: 13px/1.4 ui-monospace, monospace; }
pre { white-space: pre-wrap; background: #f3f3f3; padding: .75rem; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { text-align: left; border-bottom: 1px solid #ddd; padding: .25rem .5rem; vertical-align: top; }
th { background: #f3f3f3; }
a { color: #0b4f9c; }
nav ul { columns: 2; }
</style>
</head>
<body>
<header>
<h1>{{.Title}} <small>v{{.Version}}</small></h1>
<p>The machine-readable contract is at <a href="/openapi.json"><code>/openapi.json</code></a> (OpenAPI 3.1).</p>
<pre>{{.Description}}</pre>
<nav aria-label="Operations"><ul>
{{range .Tags}}{{range .Ops}}<li><a href="#{{.ID}}"><span class="method">{{.Method}}</span> {{.Path}}</a></li>
{{end}}{{end}}</ul></nav>
</header>
<main>
{{range .Tags}}{{if .Ops}}<h2 id="tag-{{.Name}}">{{.Name}}</h2>
<p>{{.Description}}</p>
{{range .Ops}}<section class="op" id="{{.ID}}" aria-labelledby="{{.ID}}-title">
<h3 id="{{.ID}}-title"><span class="method">{{.Method}}</span> <code>{{.Path}}</code></h3>
<p><strong>{{.Summary}}</strong>{{if .Security}} — scope: <code>{{.Security}}</code>{{end}}</p>
{{if .Description}}<pre>{{.Description}}</pre>{{end}}
{{if .Params}}<table><caption>Parameters</caption><tr><th scope="col">name</th><th scope="col">in</th><th scope="col">type</th><th scope="col">description</th></tr>
{{range .Params}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{.Type}}</td><td>{{.Description}}</td></tr>
{{end}}</table>{{end}}
{{if .Body}}<p>Request body: <code>{{.Body}}</code></p>{{end}}
<table><caption>Responses</caption><tr><th scope="col">status</th><th scope="col">description</th><th scope="col">body</th></tr>
{{range .Responses}}<tr><td>{{.Status}}</td><td>{{.Description}}</td><td><code>{{.Schema}}</code></td></tr>
{{end}}</table>
</section>
{{end}}{{end}}{{end}}
<h2 id="schemas">Schemas</h2>
<p>Fields marked * are always present.</p>
{{range .Schemas}}<section class="op" id="schema-{{.Name}}" aria-labelledby="schema-{{.Name}}-title">
<h3 id="schema-{{.Name}}-title">{{.Name}}</h3>
{{if .Description}}<p>{{.Description}}</p>{{end}}
{{if .Props}}<table><tr><th scope="col">field</th><th scope="col">type</th><th scope="col">description</th></tr>
{{range .Props}}<tr><td><code>{{.Name}}</code></td><td>{{.Type}}</td><td>{{.Description}}</td></tr>
{{end}}</table>{{end}}
</section>
{{end}}
</main>
</body>
</html>
`
