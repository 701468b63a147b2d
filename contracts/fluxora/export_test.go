package fluxora

// TopicDecoders exposes the decoder table to the external tests, which count it against their fixtures.
var TopicDecoders = topicDecoders
