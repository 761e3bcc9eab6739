//! The OpenAPI document at `/api/v1/openapi.json`, held to the router's own table: every
//! `/api/` route is in it with its method, path parameters and token scope, and nothing else
//! is; it validates as OpenAPI 3.1; and every request example in it is accepted by the server.

use std::collections::BTreeSet;
use std::process::Command;

use crate::automation::{create_rule, fresh};
use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};
use unibox::auth::Access;
use unibox::routes::table;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The document as anyone gets it: no token, no session.
async fn served(s: &TestServer) -> Value {
    let r = s
        .anonymous()
        .get(s.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    r.json().await.unwrap()
}

/// Every operation of the document: path, method and the operation object.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            if METHODS.contains(&method.as_str()) {
                out.push((path.clone(), method.clone(), op.clone()));
            }
        }
    }
    out
}

/// The `{parameter}` names of a route's path.
fn placeholders(path: &str) -> BTreeSet<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_owned)
        .collect()
}

/// The narrowest token scope that grants `role`, as the document names it.
fn scope_for(role: Role) -> &'static str {
    [Scope::Read, Scope::Write, Scope::Admin]
        .into_iter()
        .find(|scope| scope.role() >= role)
        .expect("a scope for every API role")
        .as_str()
}

/// The path with each `{parameter}` replaced by `id`.
fn concrete(path: &str, id: i64) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                id.to_string()
            } else {
                seg.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Checks the document as OpenAPI 3.1, exits non-zero if it is not.
const VALIDATE_SPEC: &str = r#"
import json, sys
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)
"#;

/// Checks each request example against its own schema (JSON Schema 2020-12, as OpenAPI 3.1
/// uses it), the document's components beside it so that its references resolve.
const VALIDATE_EXAMPLES: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
doc = json.load(open(sys.argv[1]))
for path, item in doc['paths'].items():
    for method, op in item.items():
        media = op.get('requestBody', {}).get('content', {}).get('application/json', {})
        if 'example' in media:
            schema = {'allOf': [media['schema']], 'components': doc['components']}
            for error in Draft202012Validator(schema).iter_errors(media['example']):
                sys.exit(f'{method} {path}: {error.message}')
"#;

/// Checks recorded answers (`{"document", "answers": [{"method", "path", "status",
/// "content_type", "body"}]}`): each status and content type is documented for its
/// operation, and each JSON body fits the documented schema.
const VALIDATE_ANSWERS: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
given = json.load(open(sys.argv[1]))
doc = given['document']
for a in given['answers']:
    label = f"{a['method']} {a['path']} {a['status']}"
    response = doc['paths'][a['path']][a['method']]['responses'].get(str(a['status']))
    if response is None:
        sys.exit(f'{label}: the status is not documented')
    media = response.get('content', {}).get(a['content_type'])
    if media is None:
        sys.exit(f"{label}: {a['content_type']} is not documented")
    if a['body'] is not None:
        schema = {'allOf': [media['schema']], 'components': doc['components']}
        for error in Draft202012Validator(schema).iter_errors(a['body']):
            sys.exit(f'{label}: {error.message} at {list(error.absolute_path)}')
"#;

/// Runs `script` on `input` with `openapi-spec-validator` (PyPI) and the JSON Schema library it
/// brings: `None` when they are not installed here (a failure under CI, which installs them),
/// else what the script said.
fn check(script: &str, input: &Value) -> Option<Result<(), String>> {
    let has_validator = Command::new("python3")
        .args(["-c", "import openapi_spec_validator, jsonschema"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !has_validator {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs openapi-spec-validator (.ci/run installs it)"
        );
        eprintln!("SKIPPED: pip install openapi-spec-validator to validate the OpenAPI document");
        return None;
    }
    let file = std::env::temp_dir().join(format!("{}.json", unique_name()));
    std::fs::write(&file, input.to_string()).unwrap();
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_file(&file).ok();
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

on_both_backends! {
    /// Each `/api/` route of the router's table is in the document with its method, exactly
    /// its path parameters and the token scope the table asks; the document lists no
    /// operation the router does not serve.
    async fn the_document_lists_every_api_route_as_the_router_serves_it(s: &TestServer) {
        let doc = served(s).await;
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."), "{}", doc["openapi"]);
        let routes: Vec<_> = table().into_iter().filter(|r| r.path.starts_with("/api/")).collect();
        assert!(routes.len() >= 30, "only {} API routes", routes.len());
        for route in &routes {
            let method = route.method.as_str().to_lowercase();
            let label = format!("{} {}", route.method, route.path);
            let op = &doc["paths"][route.path][&method];
            assert!(op.is_object(), "{label} is not in the document");
            let parameters: Vec<&Value> = [&doc["paths"][route.path]["parameters"], &op["parameters"]]
                .into_iter()
                .filter_map(Value::as_array)
                .flatten()
                .filter(|p| p["in"] == "path")
                .collect();
            let declared: BTreeSet<String> =
                parameters.iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect();
            assert_eq!(declared, placeholders(route.path), "{label}: path parameters");
            assert!(parameters.iter().all(|p| p["required"] == true), "{label}: a path parameter is required");
            match route.access {
                Access::Api(role) => {
                    assert_eq!(op["security"], json!([{"token": [scope_for(role)]}]), "{label}: scope");
                    assert!(op["responses"]["401"].is_object(), "{label}: 401");
                }
                Access::Public => assert!(
                    op["security"].is_null() || op["security"] == json!([{}]),
                    "{label} needs no token: {}", op["security"]
                ),
                Access::Page(_) => panic!("{label}: a page under /api/"),
            }
        }
        let served_routes: BTreeSet<(String, String)> = routes
            .iter()
            .map(|r| (r.path.to_owned(), r.method.as_str().to_lowercase()))
            .collect();
        let mut ids = BTreeSet::new();
        for (path, method, op) in operations(&doc) {
            assert!(served_routes.contains(&(path.clone(), method.clone())), "{method} {path} is not served");
            let id = op["operationId"].as_str().unwrap().to_owned();
            assert!(ids.insert(id.clone()), "operationId {id} twice");
        }
        assert_eq!(ids.len(), served_routes.len());
    }

    /// The served document passes an OpenAPI 3.1 validator, and each request example fits
    /// its own schema; both checks refuse a document broken on purpose.
    async fn the_document_validates_as_openapi_3_1(s: &TestServer) {
        let doc = served(s).await;
        let Some(verdict) = check(VALIDATE_SPEC, &doc) else { return };
        verdict.expect("a valid OpenAPI 3.1 document");
        check(VALIDATE_EXAMPLES, &doc).unwrap().expect("examples that fit their schemas");

        let mut broken = doc.clone();
        broken["paths"]["/api/v1/threads/{id}"]["get"]
            .as_object_mut()
            .unwrap()
            .remove("parameters");
        let refusal = check(VALIDATE_SPEC, &broken).unwrap().expect_err("an undeclared path parameter");
        assert!(refusal.contains("id"), "{refusal}");
        let mut broken = doc.clone();
        broken["paths"]["/api/v1/threads/{id}"]["patch"]["requestBody"]["content"]["application/json"]
            ["example"]["unread"] = json!("yes");
        let refusal = check(VALIDATE_EXAMPLES, &broken).unwrap().expect_err("an example off its schema");
        assert!(refusal.contains("patch /api/v1/threads/{id}"), "{refusal}");
    }

    /// Every operation that takes a body documents an example of it, and the server accepts
    /// each example as it stands, sent with an admin token to items of this workspace. Each
    /// answer, and the answer of every read, has a documented status and fits its schema.
    async fn examples_are_accepted_and_answers_fit_the_document(s: &TestServer) {
        let rule = create_rule(s, json!({"name": "Price", "mode": "suggest", "delay_seconds": 0,
            "conditions": [{"type": "keywords", "any": ["price"]}],
            "actions": [{"type": "reply", "variants": ["€19!", "€19 in the shop."]}]})).await;
        let ingested = s.ingest(json!([fresh(comment("c1", "price?"))])).await;
        let thread = ingested["results"][0]["thread_id"].as_i64().unwrap();
        let (_, shown) = s.get_json(&format!("/api/v1/threads/{thread}")).await;
        let video = shown["thread"]["video"]["id"].as_i64().unwrap();
        let (_, waiting) = s.get_json("/api/v1/suggestions").await;
        let suggestion = waiting["suggestions"][0]["id"].as_i64().unwrap();
        let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
        let channels: Value = admin.get(s.url("/api/v1/channels")).send().await.unwrap().json().await.unwrap();
        let channel = channels["channels"][0]["id"].as_i64().unwrap();

        let doc = served(s).await;
        let (mut examples, mut reads, mut answers) = (0, 0, Vec::new());
        for (path, method, op) in operations(&doc) {
            let label = format!("{method} {path}");
            let body = match op.get("requestBody") {
                Some(body) => match body["content"]["application/json"].get("example") {
                    Some(example) => Some(example.clone()),
                    None => panic!("{label} documents no request example"),
                },
                // Deletions and bodiless decisions would take away the items the rest use.
                None if method != "get" => continue,
                None => None,
            };
            let segments: Vec<&str> = path.split('/').collect();
            let id = match &segments[3..] {
                _ if !path.contains('{') => 0,
                ["threads", ..] => thread,
                ["rules", ..] => rule,
                ["messages", ..] => suggestion,
                ["channels", ..] | ["engagement", "channels", ..] => channel,
                ["engagement", "videos", ..] => video,
                _ => panic!("{label}: give this test an item to send to"),
            };
            let request = admin.request(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), s.url(&concrete(&path, id)));
            let r = match &body {
                Some(example) => request.json(example),
                None => request,
            }.send().await.unwrap();
            let status = r.status().as_u16();
            let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
            let text = r.text().await.unwrap();
            assert!((200..300).contains(&status), "{label} {body:?}: {status} {text}");
            let json = (content_type.as_deref() == Some("application/json")).then(|| serde_json::from_str::<Value>(&text).unwrap());
            answers.push(json!({"method": method, "path": path, "status": status, "content_type": content_type, "body": json}));
            if body.is_some() { examples += 1 } else { reads += 1 }
        }
        assert!(examples >= 12 && reads >= 15, "only {examples} examples and {reads} reads");

        let given = json!({"document": doc, "answers": answers});
        let Some(verdict) = check(VALIDATE_ANSWERS, &given) else { return };
        verdict.expect("answers as documented");
        let mut broken = given.clone();
        let list = broken["answers"].as_array_mut().unwrap().iter_mut()
            .find(|a| a["method"] == "get" && a["path"] == "/api/v1/threads").unwrap();
        list["body"]["threads"] = json!("none");
        let refusal = check(VALIDATE_ANSWERS, &broken).unwrap().expect_err("an answer off its schema");
        assert!(refusal.contains("get /api/v1/threads 200"), "{refusal}");
    }
}
