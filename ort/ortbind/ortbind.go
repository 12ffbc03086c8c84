// Package ortbind is a small cgo shim over ONNX Runtime's C API for what
// onnxruntime_go (v1.27) does not expose: binding a session output to
// device memory (OrtApi::BindOutputToDevice) and reading the bound outputs
// as runtime-owned values that stay where they are (no copy to Go memory),
// so that a decoder's present key/values can be bound as the next step's
// past key/values without leaving the device.
//
// It talks to the same shared library onnxruntime_go loaded (dlopen of the
// same path returns the same handle) through the OrtApi table of the C API
// header in include/ (onnxruntime_c_api.h, MIT licence, the copy shipped
// with onnxruntime_go v1.27.0: ORT_API_VERSION 24, served by ONNX Runtime
// 1.29). The IoBinding itself is created and run through onnxruntime_go's
// public API; this package only reaches its OrtIoBinding pointer.
package ortbind

/*
#cgo CFLAGS: -I${SRCDIR}/include
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include "onnxruntime_c_api.h"

static const OrtApi *api = NULL;

static const char *ortbind_init(const char *path) {
	void *h = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
	if (!h) h = dlopen(path, RTLD_LAZY);
	if (!h) return dlerror();
	const OrtApiBase *(*get)(void) = (const OrtApiBase *(*)(void))dlsym(h, "OrtGetApiBase");
	if (!get) return "OrtGetApiBase not found in the library";
	api = get()->GetApi(ORT_API_VERSION);
	if (!api) return "the library does not serve this C API version";
	return NULL;
}

// status_message copies a status's message into a malloc'ed string and
// releases the status.
static char *status_message(OrtStatus *s) {
	if (!s) return NULL;
	const char *m = api->GetErrorMessage(s);
	size_t n = strlen(m);
	char *out = malloc(n + 1);
	memcpy(out, m, n + 1);
	api->ReleaseStatus(s);
	return out;
}

static char *ortbind_mem_info(const char *name, int device, OrtMemoryInfo **out) {
	return status_message(api->CreateMemoryInfo(name, OrtArenaAllocator, device, OrtMemTypeDefault, out));
}

static int ortbind_ready(void) { return api != NULL; }

static void ortbind_release_mem_info(OrtMemoryInfo *m) { api->ReleaseMemoryInfo(m); }

static char *ortbind_bind_output_to_device(OrtIoBinding *b, const char *name, const OrtMemoryInfo *m) {
	return status_message(api->BindOutputToDevice(b, name, m));
}

static char *ortbind_bind_input(OrtIoBinding *b, const char *name, const OrtValue *v) {
	return status_message(api->BindInput(b, name, v));
}

// ortbind_outputs returns the bound outputs in binding order; the caller
// owns each value and frees the array with ortbind_free_outputs.
static char *ortbind_outputs(OrtIoBinding *b, OrtValue ***values, size_t *n) {
	OrtAllocator *a = NULL;
	char *err = status_message(api->GetAllocatorWithDefaultOptions(&a));
	if (err) return err;
	return status_message(api->GetBoundOutputValues(b, a, values, n));
}

static char *ortbind_free_outputs(OrtValue **values) {
	OrtAllocator *a = NULL;
	char *err = status_message(api->GetAllocatorWithDefaultOptions(&a));
	if (err) return err;
	return status_message(api->AllocatorFree(a, values));
}

static void ortbind_release_value(OrtValue *v) { api->ReleaseValue(v); }

static char *ortbind_data(OrtValue *v, void **out) {
	return status_message(api->GetTensorMutableData(v, out));
}

// ortbind_max_in_use reads the "MaxInUse" statistic (bytes) of the
// session's allocator for memory info m; -1 when the allocator keeps no
// statistics (a non-arena allocator).
static char *ortbind_max_in_use(OrtSession *s, const OrtMemoryInfo *m, long long *out) {
	OrtAllocator *a = NULL;
	char *err = status_message(api->CreateAllocator(s, m, &a));
	if (err) return err;
	OrtKeyValuePairs *kv = NULL;
	err = status_message(api->AllocatorGetStats(a, &kv));
	*out = -1;
	if (!err) {
		const char *const *keys = NULL;
		const char *const *vals = NULL;
		size_t n = 0;
		api->GetKeyValuePairs(kv, &keys, &vals, &n);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(keys[i], "MaxInUse") == 0) *out = atoll(vals[i]);
		}
		api->ReleaseKeyValuePairs(kv);
	}
	api->ReleaseAllocator(a);
	return err;
}

static size_t ortbind_input_count(OrtSession *s, char **err) {
	size_t n = 0;
	*err = status_message(api->SessionGetInputCount(s, &n));
	return n;
}

static char *ortbind_shape(const OrtValue *v, int64_t *dims, size_t max, size_t *n) {
	OrtTensorTypeAndShapeInfo *info = NULL;
	char *err = status_message(api->GetTensorTypeAndShape(v, &info));
	if (err) return err;
	err = status_message(api->GetDimensionsCount(info, n));
	if (!err && *n <= max) err = status_message(api->GetDimensions(info, dims, *n));
	api->ReleaseTensorTypeAndShapeInfo(info);
	return err;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"
)

var (
	initOnce sync.Once
	initErr  error
)

// Init loads the OrtApi table from the ONNX Runtime library at path (the
// one onnxruntime_go was initialized with). It is safe to call repeatedly;
// the first call decides.
func Init(path string) error {
	initOnce.Do(func() {
		cp := C.CString(path)
		defer C.free(unsafe.Pointer(cp))
		if msg := C.ortbind_init(cp); msg != nil {
			initErr = fmt.Errorf("ortbind: %s: %s", path, C.GoString(msg))
		}
	})
	return initErr
}

func statusErr(what string, msg *C.char) error {
	if msg == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(msg))
	return fmt.Errorf("ortbind: %s: %s", what, C.GoString(msg))
}

// MemoryInfo names where bound outputs are allocated: "Cpu" or "Cuda" and a
// device id.
type MemoryInfo struct {
	m *C.OrtMemoryInfo
}

// NewMemoryInfo creates the memory info of a device ("Cpu", or "Cuda" with
// the CUDA device id), arena allocator, default memory type.
func NewMemoryInfo(name string, device int) (*MemoryInfo, error) {
	if C.ortbind_ready() == 0 {
		return nil, errors.New("ortbind: Init was not called")
	}
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	var m *C.OrtMemoryInfo
	if err := statusErr("CreateMemoryInfo "+name, C.ortbind_mem_info(cn, C.int(device), &m)); err != nil {
		return nil, err
	}
	return &MemoryInfo{m: m}, nil
}

// Destroy releases the memory info.
func (m *MemoryInfo) Destroy() {
	if m != nil && m.m != nil {
		C.ortbind_release_mem_info(m.m)
		m.m = nil
	}
}

// rawBinding reaches the OrtIoBinding pointer of an onnxruntime_go
// IoBinding (v1.27.0: a struct whose only field is that pointer; TestRawBinding
// fails if the layout changes).
func rawBinding(b *ort.IoBinding) *C.OrtIoBinding {
	return *(**C.OrtIoBinding)(unsafe.Pointer(b))
}

// rawSession reaches the OrtSession pointer of an onnxruntime_go
// DynamicAdvancedSession (v1.27.0: a struct holding *AdvancedSession, whose
// first field is that pointer; TestRawSession fails if the layout changes).
func rawSession(s *ort.DynamicAdvancedSession) *C.OrtSession {
	adv := *(*unsafe.Pointer)(unsafe.Pointer(s))
	return *(**C.OrtSession)(adv)
}

// inputCount is the session's number of inputs, read through the raw
// session pointer (the check that rawSession reaches a live session).
func inputCount(s *ort.DynamicAdvancedSession) (int, error) {
	var msg *C.char
	n := C.ortbind_input_count(rawSession(s), &msg)
	return int(n), statusErr("SessionGetInputCount", msg)
}

// MaxInUse is the most memory, in bytes, that the session's allocator for
// the memory info's device has held at once since the session was created
// (ONNX Runtime's arena statistic "MaxInUse"; OrtApi::AllocatorGetStats).
// It is -1 when that allocator keeps no statistics (arena disabled).
func MaxInUse(s *ort.DynamicAdvancedSession, m *MemoryInfo) (int64, error) {
	var n C.longlong
	if err := statusErr("AllocatorGetStats", C.ortbind_max_in_use(rawSession(s), m.m, &n)); err != nil {
		return 0, err
	}
	return int64(n), nil
}

// BindOutputToDevice makes the named output of the next RunWithBinding be
// allocated by the runtime on the memory info's device.
func BindOutputToDevice(b *ort.IoBinding, name string, m *MemoryInfo) error {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	return statusErr("BindOutputToDevice "+name, C.ortbind_bind_output_to_device(rawBinding(b), cn, m.m))
}

// Value is a runtime-owned value (for example an output left on the
// device); Release frees it.
type Value struct {
	v *C.OrtValue
}

// Release frees the value (the runtime keeps the memory while a binding
// still holds it).
func (v *Value) Release() {
	if v != nil && v.v != nil {
		C.ortbind_release_value(v.v)
		v.v = nil
	}
}

// Shape returns the value's tensor dimensions.
func (v *Value) Shape() ([]int64, error) {
	dims := make([]int64, 8)
	var n C.size_t
	if err := statusErr("tensor shape", C.ortbind_shape(v.v, (*C.int64_t)(unsafe.Pointer(&dims[0])), C.size_t(len(dims)), &n)); err != nil {
		return nil, err
	}
	if int(n) > len(dims) {
		return nil, fmt.Errorf("ortbind: tensor of rank %d", n)
	}
	return dims[:n], nil
}

// Float32s returns the tensor's data for a float32 value in host memory
// (a CPU binding), as a view valid until Release.
func (v *Value) Float32s() ([]float32, error) {
	dims, err := v.Shape()
	if err != nil {
		return nil, err
	}
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	var p unsafe.Pointer
	if err := statusErr("tensor data", C.ortbind_data(v.v, &p)); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	return unsafe.Slice((*float32)(p), n), nil
}

// BindInput binds a runtime-owned value (e.g. the last step's present
// key/value) as the named input.
func BindInput(b *ort.IoBinding, name string, v *Value) error {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	return statusErr("BindInput "+name, C.ortbind_bind_input(rawBinding(b), cn, v.v))
}

// Outputs returns the bound outputs of the last RunWithBinding, in binding
// order, as runtime-owned values (no copy; device outputs stay on the
// device). The caller releases each.
func Outputs(b *ort.IoBinding) ([]*Value, error) {
	var arr **C.OrtValue
	var n C.size_t
	if err := statusErr("GetBoundOutputValues", C.ortbind_outputs(rawBinding(b), &arr, &n)); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	raw := unsafe.Slice(arr, int(n))
	out := make([]*Value, n)
	for i, v := range raw {
		out[i] = &Value{v: v}
	}
	if err := statusErr("free output array", C.ortbind_free_outputs(arr)); err != nil {
		for _, v := range out {
			v.Release()
		}
		return nil, err
	}
	return out, nil
}
