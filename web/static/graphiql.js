// Mounts GraphiQL (vendored: /static/vendor/) on /graphql with the example queries of
// docs/api.md as its first tabs. Requests go to this page's own origin: HTTP for queries and
// mutations, graphql-transport-ws on the same path for subscriptions.
(function () {
  "use strict";
  var url = window.location.origin + window.location.pathname;
  var socket = new URL(url);
  socket.protocol = socket.protocol === "https:" ? "wss:" : "ws:";
  var tabs = JSON.parse(document.getElementById("graphiql-tabs").textContent);
  var fetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: socket.toString() });
  var props = {
    fetcher: fetcher,
    defaultEditorToolsVisibility: true,
    inputValueDeprecation: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false, // a bearer token typed in Headers is not kept in localStorage
  };
  if (tabs.length > 0) {
    props.defaultTabs = tabs;
  }
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, props),
  );
})();
