#ifndef ROBOTNI_RUNTIME_API_HTTP_TYPES_H_
#define ROBOTNI_RUNTIME_API_HTTP_TYPES_H_

// The HTTP transport's vocabulary that the API handlers are written in: requests,
// responses, the router, and the outbound webhook sender.

#include "http/multipart.h"
#include "http/request.h"
#include "http/responder.h"
#include "http/response.h"
#include "http/router.h"
#include "http/server.h"
#include "http/webhooks.h"

namespace robotni::api {

using http::ApplyEtag;
using http::EqualsIgnoreCase;
using http::Handler;
using http::Headers;
using http::HttpCounters;
using http::HttpServer;
using http::MultipartBoundary;
using http::MultipartPart;
using http::ParseMultipart;
using http::ParseQuery;
using http::PercentDecode;
using http::QueryParams;
using http::ReasonPhrase;
using http::Request;
using http::Responder;
using http::Response;
using http::ResponseSink;
using http::Router;
using http::StrongEtag;
using http::WebhookAttempt;
using http::WebhookDelivery;
using http::WebhookOptions;
using http::WebhookOutcome;
using http::WebhookSender;

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_HTTP_TYPES_H_
