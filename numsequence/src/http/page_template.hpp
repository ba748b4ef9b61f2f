#pragma once
/// @brief Internal: the page's HTML as the build embeds it. cmake/embed_page.cmake generates
/// the definition from web/page.html, its stylesheet and its scripts.

#include <string_view>

namespace numsequence::detail {

/// @brief The page with markers where render_page() fills in: `@@MAX_FIBONACCI@@`, `@@NUM@@`,
/// `@@HINT@@`, `@@ERROR@@` and `@@RESULT@@`, each once and in this order. Static storage.
std::string_view page_template() noexcept;

}  // namespace numsequence::detail
