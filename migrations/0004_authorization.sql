-- Roles and their permissions. A permission is a `resource:action` string; the server
-- knows the catalog and re-asserts the built-in roles' permissions at every start, so
-- these rows are the one source that permission checks read.
CREATE TABLE roles (
  name        text PRIMARY KEY CHECK (char_length(name) BETWEEN 1 AND 64),
  description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 500),
  built_in    boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);

CREATE TABLE role_permissions (
  role       text NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
  permission text NOT NULL CHECK (char_length(permission) BETWEEN 3 AND 64),
  PRIMARY KEY (role, permission)
);

INSERT INTO roles (name, description, built_in, created_at, updated_at) VALUES
  ('user', 'Their own account only', true, now(), now()),
  ('support', 'Read users, unlock accounts, revoke sessions', true, now(), now()),
  ('auditor', 'Read the audit trail', true, now(), now()),
  ('admin', 'Everything', true, now(), now());

INSERT INTO role_permissions (role, permission) VALUES
  ('support', 'users:read'), ('support', 'users:lock'), ('support', 'sessions:revoke'),
  ('auditor', 'audit:read'),
  ('admin', 'users:read'), ('admin', 'users:write'), ('admin', 'users:delete'), ('admin', 'users:lock'),
  ('admin', 'sessions:revoke'), ('admin', 'roles:read'), ('admin', 'roles:write'), ('admin', 'roles:assign'),
  ('admin', 'audit:read');

-- Roles given before roles were defined (`users create --role X`) become custom roles
-- without permissions, so every assignment names a defined role from now on.
INSERT INTO roles (name, description, built_in, created_at, updated_at)
  SELECT DISTINCT role, '', false, now(), now() FROM user_roles
  ON CONFLICT (name) DO NOTHING;

ALTER TABLE user_roles ADD CONSTRAINT user_roles_role_fkey FOREIGN KEY (role) REFERENCES roles (name) ON DELETE CASCADE;
CREATE INDEX user_roles_role ON user_roles (role);
