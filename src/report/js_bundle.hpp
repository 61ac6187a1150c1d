// Vega and Vega-Lite as compiled into the binary (see vega_bundle.cmake), for HTML reports.
#pragma once

namespace rebench::report {

struct JsBundle {
  bool available;
  const char* vega;  ///< build/vega.min.js of the pinned npm release
  const char* vega_version;
  const char* vega_lite;  ///< build/vega-lite.min.js
  const char* vega_lite_version;
  const char* missing_reason;  ///< why not available ("" when available)
};

const JsBundle& js_bundle();

}  // namespace rebench::report
