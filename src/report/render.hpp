// Renderers of a report document (analysis.hpp's JSON): Markdown and one self-contained HTML page
// with Vega-Lite charts. Everything that comes from run records (agent labels, messages, run ids)
// is escaped for the output format: an agent cannot inject markup or script through its name.
#pragma once

#include <string>

#include "rebench/json_file.hpp"

namespace rebench::report {

std::string render_markdown(const Json& report);

/// Throws Error when the binary was built without the Vega bundles (see vega_bundle.cmake).
std::string render_html(const Json& report);

/// The Vega-Lite specs of the HTML page's charts: an array of {id, title, spec}.
Json chart_specs(const Json& report);

/// Text for Markdown table cells: |, <, >, & and line breaks neutralised.
std::string escape_markdown(const std::string& text);
/// Text for HTML element content and attribute values.
std::string escape_html(const std::string& text);
/// JSON for embedding in a <script> element: <, >, &, U+2028 and U+2029 as \u escapes, so no
/// string inside can close the element or start a comment.
std::string json_for_script(const Json& value);

}  // namespace rebench::report
