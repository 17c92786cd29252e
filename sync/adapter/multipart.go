package adapter

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/textproto"
)

// switchWriter lets a multipart.Writer write its head and tail into different buffers.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

// MultipartFile is a multipart/form-data body of fields and one file, streamed from file
// (size bytes) without holding it in memory, with its exact length so no chunking is needed.
func MultipartFile(fields [][2]string, fileField, fileName, fileType string, file io.Reader, size int64) (body io.Reader, length int64, contentType string, err error) {
	var head, tail bytes.Buffer
	sw := &switchWriter{w: &head}
	mw := multipart.NewWriter(sw)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return nil, 0, "", err
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+fileField+`"; filename="`+fileName+`"`)
	h.Set("Content-Type", fileType)
	if _, err := mw.CreatePart(h); err != nil {
		return nil, 0, "", err
	}
	sw.w = &tail
	if err := mw.Close(); err != nil {
		return nil, 0, "", err
	}
	length = int64(head.Len()) + size + int64(tail.Len())
	return io.MultiReader(&head, io.LimitReader(file, size), &tail), length, mw.FormDataContentType(), nil
}
