#include "cli/xread_reply.h"

#include "cli/resp_client.h"

namespace runnel::cli {

bool ParseXReadReply(std::string_view frame, std::vector<StreamEntryView>* entries,
                     std::string* why) {
  size_t pos = 0;
  RespItem item;
  auto next = [&](RespItem* out) {
    if (ScanValue(frame, &pos, out) == ScanStatus::kFrame) return true;
    *why = "truncated or malformed reply";
    return false;
  };
  auto expect = [&](RespItem* out, std::string_view types, const char* what) {
    if (!next(out)) return false;
    if (types.find(out->type) != std::string_view::npos) return true;
    *why = std::string("expected ") + what + ", got type '" + std::string(1, out->type) + "'";
    return false;
  };
  if (!next(&item)) return false;
  if (item.type == '_') return true;  // BLOCK timed out
  if (item.type == '-' || item.type == '!') {
    *why = std::string(item.str);
    return false;
  }
  if (item.type != '*' && item.type != '%') {
    *why = "expected an array or map of streams, got type '" + std::string(1, item.type) + "'";
    return false;
  }
  const bool map = item.type == '%';
  const int64_t streams = item.integer;
  for (int64_t s = 0; s < streams; ++s) {
    RespItem pair, key, list;
    if (!map && (!expect(&pair, "*", "[key, entries]") || pair.integer != 2)) {
      if (why->empty()) *why = "a stream is not a [key, entries] pair";
      return false;
    }
    if (!expect(&key, "$+", "the stream's key") || !expect(&list, "*", "the entries")) {
      return false;
    }
    for (int64_t e = 0; e < list.integer; ++e) {
      RespItem entry, id, fields;
      if (!expect(&entry, "*", "an entry") || entry.integer != 2) {
        if (why->empty()) *why = "an entry is not an [id, fields] pair";
        return false;
      }
      if (!expect(&id, "$+", "an entry ID") || !expect(&fields, "*%_", "the fields")) {
        return false;
      }
      const int64_t n = fields.type == '_' ? 0 : fields.integer * (fields.type == '%' ? 2 : 1);
      StreamEntryView view{id.str, {}};
      for (int64_t k = 0; k < n; ++k) {
        RespItem v;
        if (!expect(&v, "$+", "a field or value")) return false;
        if (k == 1) view.value = v.str;
      }
      entries->push_back(view);
    }
  }
  return true;
}

}  // namespace runnel::cli
