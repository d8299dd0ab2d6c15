import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { JobPage } from "./JobPage.tsx";
import { JobsList } from "./JobsList.tsx";
import { NewRender } from "./NewRender.tsx";
import "./style.css";

/** The page a hash names: #/ (jobs), #/new, #/renders/:id. */
function routeOf(hash: string): { page: "jobs" } | { page: "new" } | { page: "job"; id: string } {
  const path = hash.replace(/^#/, "") || "/";
  const job = /^\/renders\/([^/]+)$/.exec(path);
  if (job) return { page: "job", id: decodeURIComponent(job[1]!) };
  if (path === "/new") return { page: "new" };
  return { page: "jobs" };
}

function App() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const update = () => setHash(location.hash);
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  const route = routeOf(hash);
  return (
    <>
      <header className="top">
        <a className="brand" href="#/">Brender</a>
        <nav aria-label="Main">
          <a href="#/" aria-current={route.page === "jobs" ? "page" : undefined}>Renders</a>
          <a href="#/new" aria-current={route.page === "new" ? "page" : undefined}>New render</a>
        </nav>
      </header>
      <main>
        {route.page === "jobs" && <JobsList />}
        {route.page === "new" && <NewRender />}
        {route.page === "job" && <JobPage key={route.id} id={route.id} />}
      </main>
    </>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
