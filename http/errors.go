package http

import (
	"errors"
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

// Error codes of the envelope (DESIGN §6).
const (
	CodeValidation     = "VALIDATION_ERROR"
	CodeDecimal        = "DECIMAL_INVALID"
	CodeUnauthorized   = "UNAUTHORIZED"
	CodeForbidden      = "FORBIDDEN"
	CodeNotFound       = "NOT_FOUND"
	CodeConflict       = "CONFLICT"
	CodeTooLarge       = "PAYLOAD_TOO_LARGE"
	CodeUnsupported    = "UNSUPPORTED_MEDIA_TYPE"
	CodeRateLimited    = "RATE_LIMITED"
	CodeInternal       = "INTERNAL_ERROR"
	CodeUnavailable    = "SERVICE_UNAVAILABLE"
	internalMessage    = "internal error; the request id identifies it in the server log"
	unavailableMessage = "the service is temporarily unavailable"
)

// APIError is an error a handler returns to answer with the envelope. Only its fields reach the client.
type APIError struct {
	Status    int
	Code      string
	Message   string
	Details   any
	Retryable bool
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func apiError(status int, code, message string) *APIError {
	return &APIError{Status: status, Code: code, Message: message}
}

// validation is a 400 naming the field.
func validation(field, message string) *APIError {
	return &APIError{Status: fiber.StatusBadRequest, Code: CodeValidation, Message: field + ": " + message,
		Details: map[string]string{"field": field}}
}

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
			ae = &APIError{Status: fiber.StatusInternalServerError, Code: CodeInternal, Message: internalMessage, Retryable: true}
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
		return apiError(fe.Code, CodeNotFound, "no such route")
	case fiber.StatusMethodNotAllowed:
		return apiError(fe.Code, CodeNotFound, "method not allowed on this route")
	case fiber.StatusRequestEntityTooLarge:
		return apiError(fe.Code, CodeTooLarge, "request body too large")
	case fiber.StatusBadRequest:
		return apiError(fe.Code, CodeValidation, "malformed request")
	case fiber.StatusRequestTimeout:
		return &APIError{Status: fe.Code, Code: CodeUnavailable, Message: "request timed out", Retryable: true}
	}
	if fe.Code >= 500 {
		return &APIError{Status: fiber.StatusInternalServerError, Code: CodeInternal, Message: internalMessage, Retryable: true}
	}
	return apiError(fe.Code, CodeValidation, "bad request")
}
