package http

import (
	"errors"
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/streamledger/streamledger/http/apikit"
)

// Messages of the envelope for failures whose cause the client must not see (the codes are apikit's).
const (
	internalMessage    = "internal error; the request id identifies it in the server log"
	unavailableMessage = "the service is temporarily unavailable"
)

// APIError is an error a handler returns to answer with the envelope (apikit.Error, which modules return too).
type APIError = apikit.Error

type envelope struct {
	Error envelopeError `json:"error"`
}

type envelopeError struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Details   any    `json:"details,omitempty"`
	RequestID string `json:"requestId"`
	Retryable bool   `json:"retryable"`
}

// errorHandler answers every error with the envelope. Anything that is not an APIError (or a Fiber routing error)
// is logged with the request id and answered with a bare INTERNAL_ERROR: no driver message or stack reaches the
// client.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		var ae *APIError
		var fe *fiber.Error
		switch {
		case errors.As(err, &ae):
		case errors.As(err, &fe):
			ae = fromFiber(fe)
		default:
			log.Error("request failed", "requestId", requestID(c), "method", c.Method(), "path", c.Path(), "err", err)
			ae = &APIError{Status: fiber.StatusInternalServerError, Code: apikit.CodeInternal, Message: internalMessage, Retryable: true}
		}
		if ae.Status == fiber.StatusServiceUnavailable {
			ae.Retryable = true
		}
		securityHeaders(c)
		if requestID(c) == "" { // refused before the middleware ran (a body over the limit)
			id := uuid.NewString()
			c.Locals(localsRequestID, id)
			c.Set(headerRequestID, id)
		}
		return c.Status(ae.Status).JSON(envelope{Error: envelopeError{Code: ae.Code, Message: ae.Message, Details: ae.Details,
			RequestID: requestID(c), Retryable: ae.Retryable}})
	}
}

func fromFiber(fe *fiber.Error) *APIError {
	switch fe.Code {
	case fiber.StatusNotFound:
		return apikit.New(fe.Code, apikit.CodeNotFound, "no such route")
	case fiber.StatusMethodNotAllowed:
		return apikit.New(fe.Code, apikit.CodeNotFound, "method not allowed on this route")
	case fiber.StatusRequestEntityTooLarge:
		return apikit.New(fe.Code, apikit.CodeTooLarge, "request body too large")
	case fiber.StatusBadRequest:
		return apikit.New(fe.Code, apikit.CodeValidation, "malformed request")
	case fiber.StatusRequestTimeout:
		return &APIError{Status: fe.Code, Code: apikit.CodeUnavailable, Message: "request timed out", Retryable: true}
	}
	if fe.Code >= 500 {
		return &APIError{Status: fiber.StatusInternalServerError, Code: apikit.CodeInternal, Message: internalMessage, Retryable: true}
	}
	return apikit.New(fe.Code, apikit.CodeValidation, "bad request")
}
