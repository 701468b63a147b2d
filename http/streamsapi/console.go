package streamsapi

import (
	"embed"
	"path"

	"github.com/gofiber/fiber/v2"
)

// consoleFiles are the reviewer console's page, script and styles (the stream contract's console: streams, their
// history and point in time, over this module's routes and the core's WebSocket feed): plain files, embedded, no build step and
// nothing fetched from elsewhere.
//
//go:embed console
var consoleFiles embed.FS

// consoleCSP lets the console load its own files and talk to this server (REST and WebSocket), nothing else.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' blob:; frame-ancestors 'none'"

func routeConsole(r fiber.Router) {
	r.Get("/console", func(c *fiber.Ctx) error { return serveConsoleFile(c, "index.html") })
	r.Get("/console/:file", func(c *fiber.Ctx) error { return serveConsoleFile(c, c.Params("file")) })
}

func consoleType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return fiber.MIMETextHTMLCharsetUTF8
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	}
	return ""
}

func serveConsoleFile(c *fiber.Ctx, name string) error {
	mime := consoleType(name)
	if mime == "" || path.Base(name) != name {
		return c.Next() // another module's console page, or nothing (then a 404)
	}
	body, err := consoleFiles.ReadFile("console/" + name)
	if err != nil {
		return c.Next() // another module's console page, or nothing (then a 404)
	}
	c.Set("Content-Security-Policy", consoleCSP)
	c.Set(fiber.HeaderContentType, mime)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(body)
}
