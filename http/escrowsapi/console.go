package escrowsapi

import (
	"embed"
	"path"

	"github.com/gofiber/fiber/v2"

	"github.com/streamledger/streamledger/http/apikit"
)

// consoleFiles are the console's escrow pages (the stream module serves the rest of the console and its styles).
//
//go:embed console
var consoleFiles embed.FS

// consoleCSP lets the page load its own files and talk to this server, nothing else.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' blob:; frame-ancestors 'none'"

func serveConsole(c *fiber.Ctx, name string) error {
	body, err := consoleFiles.ReadFile("console/" + name)
	if err != nil {
		return apikit.NotFound("no console file " + name)
	}
	mime := fiber.MIMETextHTMLCharsetUTF8
	if path.Ext(name) == ".js" {
		mime = "text/javascript; charset=utf-8"
	}
	c.Set("Content-Security-Policy", consoleCSP)
	c.Set(fiber.HeaderContentType, mime)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(body)
}
