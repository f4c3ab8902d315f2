// The Content-Type ClickHouse's HTTP interface sends for an output format, so a client (or a
// browser, or curl) reading ours sees what it would see from a ClickHouse server.

const BINARY = /^(RowBinary|Native|Parquet|Arrow|ArrowStream|ORC|Avro|Protobuf|ProtobufSingle|ProtobufList|CapnProto|MsgPack|BSONEachRow|Npy)/;

export function contentType(format: string): string {
  if (/^(TabSeparated|TSV)/.test(format)) return "text/tab-separated-values; charset=UTF-8";
  if (/^CSV/.test(format)) return `text/csv; charset=UTF-8; header=${/WithNames/.test(format) ? "present" : "absent"}`;
  if (format === "JSONEachRow" || format === "JSONStringsEachRow" || format === "JSONCompactEachRow" || format === "NDJSON" || format === "JSONLines") return "application/x-ndjson; charset=UTF-8";
  if (/^JSON/.test(format)) return "application/json; charset=UTF-8";
  if (format === "XML") return "application/xml; charset=UTF-8";
  if (BINARY.test(format)) return "application/octet-stream";
  return "text/plain; charset=UTF-8";
}
