//! The object-storage origin that downloads are redirected to: presigned,
//! S3-style URLs; it records every request (headers included) so tests can
//! prove that no GitLab credential reached it.

use super::http::{self, Req, Resp};
use super::routes_generic::content_disposition;
use super::state::{FileRow, State, sha256_hex};

const SECRET: &str = "imglife-gitlab-emulator-object-storage";
const BUCKET: &str = "gitlab-packages";

fn signature(path: &str, date: &str) -> String {
    sha256_hex(format!("{SECRET}\n{path}\n{date}").as_bytes())
}

/// A presigned URL for the file on the object-storage origin.
pub fn signed_url(origin: &str, project_id: u64, file: &FileRow) -> String {
    let path = format!(
        "/{BUCKET}/{project_id}/{}/{}/{}",
        file.package_id,
        file.id,
        http::encode_component(&file.file_name)
    );
    let date = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let disposition = http::cgi_escape(&content_disposition(&file.file_name));
    format!(
        "{origin}{path}?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=emulator%2F{day}%2Fus-east-1%2Fs3%2Faws4_request\
         &X-Amz-Date={date}&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
         &response-content-disposition={disposition}\
         &X-Amz-Signature={sig}",
        day = &date[..8],
        sig = signature(&path, &date),
    )
}

fn s3_error(status: u16, code: &str, message: &str) -> Resp {
    let mut r = http::empty(status);
    *r.body_mut() = http_body_util::Full::new(bytes::Bytes::from(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )));
    http::set_header(&mut r, "content-type", "application/xml");
    r
}

pub fn handle(s: &State, req: &Req) -> Resp {
    if !req.is_get() {
        return s3_error(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        );
    }
    // S3 refuses a request that carries both a presigned query and an
    // Authorization header.
    if req.header("authorization").is_some() {
        return s3_error(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        );
    }
    let (Some(date), Some(sig)) = (req.param("X-Amz-Date"), req.param("X-Amz-Signature")) else {
        return s3_error(403, "AccessDenied", "Access Denied");
    };
    if signature(&req.path, date) != sig {
        return s3_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
    }
    let file_id = req
        .path
        .split('/')
        .nth(4)
        .and_then(|id| id.parse::<u64>().ok());
    let Some(file) = file_id.and_then(|id| s.files.get(&id)) else {
        return s3_error(404, "NoSuchKey", "The specified key does not exist.");
    };
    let mut r = http::empty(200);
    *r.body_mut() = http_body_util::Full::new(bytes::Bytes::from(file.bytes.clone()));
    http::set_header(&mut r, "content-type", "application/octet-stream");
    http::set_header(&mut r, "etag", &format!("\"{}\"", &file.sha256[..32]));
    if let Some(d) = req.param("response-content-disposition") {
        http::set_header(&mut r, "content-disposition", d);
    }
    r
}
