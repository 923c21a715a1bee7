"""The service's OpenAPI 3.1 document, with the report's own JSON Schema in it.

OpenAPI 3.1 schemas are JSON Schema 2020-12, the dialect of `schemas/report.schema.json`,
so the report schema goes in as it is: a client generated from this document validates
exactly what the command line's report promises.
"""

from __future__ import annotations

from typing import Any

from edi_precheck import __version__
from edi_precheck.policy import schema

X12_BODY = {
    "required": True,
    "description": "The 837 file, as sent to the clearinghouse (bytes, any segment layout).",
    "content": {
        "application/edi-x12": {"schema": {"type": "string", "format": "binary"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


REFUSALS = {
    "400": _error("a query parameter is not one the route takes"),
    "401": _error("no bearer token, or another one (when the server has a token)"),
    "413": _error("the body is over the server's limit"),
    "504": _error("the check took longer than the server's timeout"),
}


def openapi_document(overlays: list[str]) -> dict[str, Any]:
    policy = {
        "name": "policy",
        "in": "query",
        "required": False,
        "description": "A policy overlay the server was started with, by name.",
        "schema": {"type": "string", "enum": overlays} if overlays else {"type": "string"},
    }
    report = schema("report")
    report = {key: value for key, value in report.items() if key != "$schema"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "edi-precheck",
            "version": __version__,
            "description": "Checks X12 837 claim files for drug-line billing mistakes before "
            "they are sent.",
        },
        "paths": {
            "/v1/check": {
                "post": {
                    "summary": "Check an 837 file: the JSON report of `edi-precheck check`",
                    "parameters": [
                        {
                            "name": "ig",
                            "in": "query",
                            "description": "Validate against the implementation guide (pyx12).",
                            "schema": {"type": "boolean", "default": True},
                        },
                        {
                            "name": "fail_on",
                            "in": "query",
                            "description": "The severity X-EDI-Precheck-Exit counts as 1.",
                            "schema": {
                                "type": "string",
                                "enum": ["error", "warning", "never"],
                                "default": "error",
                            },
                        },
                        policy,
                    ],
                    "requestBody": X12_BODY,
                    "responses": {
                        "200": {
                            "description": "The report, whatever its findings (a body that is "
                            "not X12 is a report with its x12.unreadable finding).",
                            "headers": {
                                "X-EDI-Precheck-Exit": {
                                    "description": "What `edi-precheck check` would exit "
                                    "with: 0 nothing at or above fail_on, 1 findings.",
                                    "schema": {"type": "integer", "enum": [0, 1]},
                                }
                            },
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Report"}
                                }
                            },
                        },
                        **REFUSALS,
                    },
                }
            },
            "/v1/lines": {
                "post": {
                    "summary": "The drug service lines of an 837 file (`edi-precheck lines`)",
                    "parameters": [
                        {
                            "name": "code",
                            "in": "query",
                            "description": "List lines of these codes (repeatable).",
                            "schema": {"type": "array", "items": {"type": "string"}},
                            "explode": True,
                        },
                        {
                            "name": "all",
                            "in": "query",
                            "description": "List every service line.",
                            "schema": {"type": "boolean", "default": False},
                        },
                        policy,
                    ],
                    "requestBody": X12_BODY,
                    "responses": {
                        "200": {
                            "description": "One object per line, as `lines --format json`.",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "array", "items": {"type": "object"}}
                                }
                            },
                        },
                        **REFUSALS,
                    },
                }
            },
            "/v1/rules": {
                "get": {
                    "summary": "The rule catalog (`edi-precheck rules --format json`)",
                    "responses": {
                        "200": {
                            "description": "Every rule with its default severity and denial.",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "array", "items": {"type": "object"}}
                                }
                            },
                        },
                        "401": REFUSALS["401"],
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Liveness, for a load balancer (no token needed)",
                    "security": [],
                    "responses": {"200": {"description": "The server answers."}},
                }
            },
        },
        "components": {
            "schemas": {
                "Report": report,
                "Error": {
                    "type": "object",
                    "required": ["error", "status"],
                    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
                },
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}, {}],
    }
