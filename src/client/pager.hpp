// Skapi's list paging for getRealtimeUsers / getRealtimeGroups: fetchOptions {limit, ascending,
// fetchMore, startKey} turned into a query's `limit`/`ascending`/`start`, and the cursor kept per
// query so that `fetchMore: true` continues where that query's last page ended. The same for the
// socket and the HTTP endpoints: the platform only carries the request and the answer.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace sb::client {

class Pager {
 public:
  // One page of `op` ("users" | "groups") for `query_json` (the query's own fields) and
  // `options_json` (fetchOptions, or null). Returns JSON text, one of:
  //   {"error": {"code", "message"}}       bad fetchOptions;
  //   {"page": <DatabaseResponse>}         answered here (the query already reached its end);
  //   {"request": <query>, "ticket": ...}  send `request`; hand `ticket` and the answer's data
  //                                        to done().
  std::string begin(const std::string& op, const std::string& query_json, const std::string& options_json);
  // Records where the page ended; returns the DatabaseResponse {list, startKey, endOfList,
  // startKeyHistory} as JSON text.
  std::string done(const std::string& ticket_json, const std::string& data_json);

 private:
  struct Cursor {
    std::string start_key_json;        // where the last page ended ("" before the first page)
    std::vector<std::string> history;  // the start keys of the pages after the first, as JSON text
  };
  std::map<std::string, Cursor> cursors_;  // by op, query and direction
};

}  // namespace sb::client
