package main

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// ONNX Runtime's C API (onnxruntime_c_api.h, 1.29.0): OrtGetApiBase returns
// two function pointers, and GetApi a table of function pointers (OrtApi)
// that only ever grows at its end, so an entry's index holds for every later
// version. onnxruntime_go does not wrap GetAvailableProviders, so these few
// lines call it by its index.
typedef struct {
	const void *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
} mg_api_base;

enum {
	mg_get_error_message = 2,
	mg_release_status = 93,
	mg_get_available_providers = 125,
	mg_release_available_providers = 126,
};

typedef const mg_api_base *(*mg_get_api_base_fn)(void);
typedef void *(*mg_get_providers_fn)(char ***out, int *n);
typedef void *(*mg_release_providers_fn)(char **providers, int n);
typedef const char *(*mg_error_message_fn)(const void *status);
typedef void (*mg_release_status_fn)(void *status);

// mg_open loads the library and returns its API base, or NULL with *err set
// to dlerror's message (copied: the caller frees it).
static const mg_api_base *mg_open(const char *path, char **err) {
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		*err = strdup(dlerror());
		return NULL;
	}
	void *get = dlsym(lib, "OrtGetApiBase");
	if (!get) {
		*err = strdup(dlerror());
		return NULL;
	}
	return ((mg_get_api_base_fn)get)();
}

static const char *mg_version_string(const mg_api_base *base) {
	return base->GetVersionString();
}

static void *const *mg_api(const mg_api_base *base, uint32_t version) {
	return (void *const *)base->GetApi(version);
}

static char *mg_status_message(void *const *api, void *status) {
	char *msg = strdup(((mg_error_message_fn)api[mg_get_error_message])(status));
	((mg_release_status_fn)api[mg_release_status])(status);
	return msg;
}

// mg_providers fills *out and *n and returns NULL, or returns ONNX Runtime's
// error message (the caller frees it).
static char *mg_providers(void *const *api, char ***out, int *n) {
	void *status = ((mg_get_providers_fn)api[mg_get_available_providers])(out, n);
	return status ? mg_status_message(api, status) : NULL;
}

static void mg_release_providers(void *const *api, char **providers, int n) {
	void *status = ((mg_release_providers_fn)api[mg_release_available_providers])(providers, n);
	if (status) free(mg_status_message(api, status));
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// ortAPIVersion is the ORT_API_VERSION of the onnxruntime_c_api.h that
// onnxruntime_go v1.36.0 is compiled with: the API version it asks the
// library for, so a library that lacks it cannot serve. TestORTAPIVersion
// reads the header to keep this in step.
const ortAPIVersion = 29

// ortLibrary is what the ONNX Runtime library at a path says about itself.
type ortLibrary struct {
	version   string   // its own version string ("1.29.0")
	providers []string // its execution providers, "CPUExecutionProvider" last
}

// probeORT loads the library (as the sidecar would at start) and asks it for
// its version and, through API ortAPIVersion, its execution providers. The
// library stays loaded: this runs in a process that exits right after.
func probeORT(path string) (ortLibrary, error) {
	cPath := C.CString(path)
	defer C.free(unsafe.Pointer(cPath))
	var cErr *C.char
	base := C.mg_open(cPath, &cErr)
	if base == nil {
		defer C.free(unsafe.Pointer(cErr))
		return ortLibrary{}, errors.New(C.GoString(cErr))
	}
	lib := ortLibrary{version: C.GoString(C.mg_version_string(base))}
	api := C.mg_api(base, ortAPIVersion)
	if api == nil {
		return lib, fmt.Errorf("ONNX Runtime %s does not offer API version %d", lib.version, ortAPIVersion)
	}
	var list **C.char
	var n C.int
	if msg := C.mg_providers(api, &list, &n); msg != nil {
		defer C.free(unsafe.Pointer(msg))
		return lib, fmt.Errorf("GetAvailableProviders: %s", C.GoString(msg))
	}
	defer C.mg_release_providers(api, list, n)
	for _, p := range unsafe.Slice(list, int(n)) {
		lib.providers = append(lib.providers, C.GoString(p))
	}
	return lib, nil
}

// ortAPIIndices are the positions in OrtApi this file calls through, by the
// field's name in onnxruntime_c_api.h, for TestORTAPIIndices.
func ortAPIIndices() map[string]int {
	return map[string]int{
		"GetErrorMessage":           C.mg_get_error_message,
		"ReleaseStatus":             C.mg_release_status,
		"GetAvailableProviders":     C.mg_get_available_providers,
		"ReleaseAvailableProviders": C.mg_release_available_providers,
	}
}
