// Replaces node-fetch's multipart parser (Response.formData() of a multipart body): Node 18+'s
// own Response parses multipart/form-data.
export async function toFormData(body, contentType) {
  const chunks = [];
  for await (const chunk of body) chunks.push(chunk);
  return new globalThis.Response(Buffer.concat(chunks), { headers: { 'content-type': contentType } }).formData();
}
